using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>The terminal, visible outcomes a ticket can reach.</summary>
public enum Outcome
{
    Fulfilled,
    NeedsInfo,
    Escalated,
    Rejected,
}

/// <summary>A reason found while deciding, with the rule that produced it.</summary>
public sealed record Finding(string Rule, string Text)
{
    public override string ToString() => $"{Text} [{Rule}]";
}

/// <summary>
/// What the service decided for a ticket and why. Fulfilled decisions carry the plan; escalations carry every
/// reason and the queue; NeedsInfo carries every problem found, so the requester hears about all of them at once.
/// </summary>
public sealed record Decision
{
    public required Outcome Outcome { get; init; }

    /// <summary>The rule that decided (e.g. "tier.privileged", "approval.self", "fulfil.standard").</summary>
    public required string Rule { get; init; }

    /// <summary>One sentence a person can read.</summary>
    public required string Summary { get; init; }

    /// <summary>Problems the requester must fix (NeedsInfo), in plain words.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Every escalation reason found (the first is <see cref="Rule"/>).</summary>
    public IReadOnlyList<Finding> Reasons { get; init; } = [];

    /// <summary>What was checked and held.</summary>
    public IReadOnlyList<string> Verified { get; init; } = [];

    /// <summary>What could not be checked or did not hold.</summary>
    public IReadOnlyList<string> NotVerified { get; init; } = [];

    /// <summary>Queue kind for escalations (see <see cref="QueueKinds"/>).</summary>
    public string? QueueKind { get; init; }

    public FulfilmentPlan? Plan { get; init; }

    /// <summary>Shadow mode: the decision is written as an internal note only; nothing changes.</summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// An escalation that a valid approval by a member of the security approvers group, added in the ticket, would
    /// have the service carry out: nothing in it is something the service must not or cannot do. False for every
    /// other outcome, and for escalations people must carry out themselves. Notes say "add a security approval"
    /// only when this is true.
    /// </summary>
    public bool SecurityApprovalCarriesOut { get; init; }

    /// <summary>A person whose approval in the ITSM carried out an escalated request (security stage).</summary>
    public string? DecidedBy { get; init; }

    /// <summary>Policy version (content hash) that produced the decision.</summary>
    public required string PolicyVersion { get; init; }

    /// <summary>When set, the work is due later (future-dated leaver): nothing happens before then.</summary>
    public DateTimeOffset? ScheduledFor { get; init; }
}
