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

    /// <summary>Identifies this worker as the lease owner.</summary>
    public string InstanceId { get; set; } = $"{Environment.MachineName}-{Guid.NewGuid():N}";

    /// <summary>Directory attributes people are matched on, per ticket system, tried in order.</summary>
    public Dictionary<TicketSystemKind, PersonKey[]> PersonKeys { get; set; } = new()
    {
        [TicketSystemKind.ServiceNow] = [PersonKey.Email],
        [TicketSystemKind.Jira] = [PersonKey.Email],
    };

    /// <summary>Forces shadow mode regardless of the policy file (the policy's own switch still applies when false).</summary>
    public bool DryRun { get; set; }
}
