using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Processing;

/// <summary>How tickets are processed; bound from the <c>Processing</c> configuration section by the hosts.</summary>
public sealed class ProcessingOptions
{
    /// <summary>How long one worker holds a ticket; renewed by finishing, lost by crashing (then another worker resumes).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts per ticket round before it is escalated with the failure explained.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay after a failure; doubles per attempt (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Identifies this worker process; lease holders are named after it (see <see cref="NewLeaseHolder"/>).</summary>
    public string InstanceId { get; set; } = $"{Environment.MachineName}-{Guid.NewGuid():N}";

    /// <summary>
    /// A holder name for one run (one work item, one expiry, one failure escalation). Unique per run, not per process:
    /// a store lets a holder take its own lease again, so two runs of one process sharing a name would both "hold"
    /// a ticket (or a person) and act side by side.
    /// </summary>
    public string NewLeaseHolder() => $"{InstanceId}/{Guid.NewGuid():N}";

    /// <summary>Directory attributes people are matched on, per ticket system, tried in order.</summary>
    public Dictionary<TicketSystemKind, PersonKey[]> PersonKeys { get; set; } = new()
    {
        [TicketSystemKind.ServiceNow] = [PersonKey.Email],
        [TicketSystemKind.Jira] = [PersonKey.Email],
    };

    /// <summary>Forces shadow mode regardless of the policy file (the policy's own switch still applies when false).</summary>
    public bool DryRun { get; set; }
}
