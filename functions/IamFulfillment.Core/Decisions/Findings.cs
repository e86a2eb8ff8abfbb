using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>
/// Collects what the checks found; <see cref="DecisionEngine"/> turns it into one decision by precedence:
/// an approver's rejection, then missing information (all of it at once), then policy rejections, then pending
/// approvals, then escalations, then fulfilment.
/// </summary>
internal sealed class Findings
{
    public List<string> Problems { get; } = [];
    public Finding? ApprovalRejection { get; set; }
    public List<Finding> PolicyRejections { get; } = [];

    /// <summary>Escalations no approval can lift (the service cannot or must not do it).</summary>
    public List<Finding> HardEscalations { get; } = [];

    /// <summary>Escalations a valid security-stage approval in the ITSM carries out.</summary>
    public List<Finding> SoftEscalations { get; } = [];

    public string? Waiting { get; set; }

    /// <summary>When waiting, poll again after this long (joiner whose account HR has not created yet).</summary>
    public TimeSpan? RetryIn { get; set; }

    /// <summary>
    /// The plan holds only what the service may do even though the rest goes to people (leaver, mover): it runs,
    /// and the escalation says what was and was not done.
    /// </summary>
    public bool PartialFulfilment { get; set; }
    public List<string> Verified { get; } = [];
    public List<string> NotVerified { get; } = [];
    public string QueueKind { get; private set; } = QueueKinds.Iam;

    /// <summary>The person whose valid security approval lifts soft escalations, if any.</summary>
    public string? SecurityDecision { get; set; }

    /// <summary>Whether this request type looks for a security decision at all (grant, removal).</summary>
    public bool SecurityStageApplies { get; set; }

    public void Problem(string text) => Problems.Add(text);

    public void Hard(string rule, string text, string? queue = null)
    {
        HardEscalations.Add(new Finding(rule, text));
        RouteTo(queue);
    }

    public void Soft(string rule, string text, string? queue = null)
    {
        SoftEscalations.Add(new Finding(rule, text));
        RouteTo(queue);
    }

    public void Reject(string rule, string text) => PolicyRejections.Add(new Finding(rule, text));

    /// <summary>The most specific queue wins: SOC over privileged over on-call over the IAM queue.</summary>
    private void RouteTo(string? queue)
    {
        static int Rank(string q) => q switch
        {
            QueueKinds.Soc => 3,
            QueueKinds.Privileged => 2,
            QueueKinds.OnCall => 1,
            _ => 0,
        };

        if (queue is not null && Rank(queue) > Rank(QueueKind))
        {
            QueueKind = queue;
        }
    }
}
