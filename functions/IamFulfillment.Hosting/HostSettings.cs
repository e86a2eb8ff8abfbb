using System.ComponentModel.DataAnnotations;

namespace IamFulfillment.Hosting;

/// <summary>The <c>Processing</c> section.</summary>
public sealed class ProcessingSettings
{
    public const string Section = "Processing";

    /// <summary>The Functions app's reconciliation timer (<c>TimerFunctions</c>): every 15 minutes.</summary>
    public const double FunctionsReconciliationMinutes = 15;

    /// <summary>Seconds a worker holds a ticket before another may take over (after a crash).</summary>
    [Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>Attempts per ticket before it is escalated with the failure explained.</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 5;

    [Range(0.05, 600)]
    public double RetryDelaySeconds { get; set; } = 2;

    [Range(1, 86400)]
    public double MaxRetryDelaySeconds { get; set; } = 300;

    /// <summary>Standalone host: work items processed at once.</summary>
    [Range(1, 512)]
    public int Concurrency { get; set; } = 16;

    /// <summary>Deliveries of one queue message before it counts as poison (Functions: keep equal to host.json maxDequeueCount).</summary>
    [Range(1, 100)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Standalone host: how long a received message stays invisible; renewed while the work runs.</summary>
    [Range(5, 3600)]
    public int VisibilityTimeoutSeconds { get; set; } = 60;

    /// <summary>Standalone host: queue polling interval when idle (webhooks wake the consumer at once).</summary>
    [Range(10, 60000)]
    public int PollIntervalMilliseconds { get; set; } = 1000;

    /// <summary>Shadow mode for everything, whatever the policy file says.</summary>
    public bool DryRun { get; set; }

    /// <summary>Standalone host: minutes between sweeps for expired time-bound grants (0 = off).</summary>
    [Range(0, 1440)]
    public int ExpirySweepMinutes { get; set; } = 5;

    /// <summary>Standalone host: minutes between reconciliation sweeps for tickets whose webhook never arrived (0 = off; fractions allowed).</summary>
    [Range(0.0, 1440.0)]
    public double ReconciliationMinutes { get; set; } = 15;

    /// <summary>How far back a reconciliation sweep looks for changed tickets; at least twice the time between sweeps.</summary>
    [Range(1.0, 10080.0)]
    public double ReconciliationLookBackMinutes { get; set; } = 60;
}

/// <summary>The <c>Policy</c> section.</summary>
public sealed class PolicySettings
{
    public const string Section = "Policy";

    /// <summary>Path of the policy file (JSON), absolute or relative to the working directory.</summary>
    [Required(ErrorMessage = "Policy:Path is required: the policy file the service decides by.")]
    public string Path { get; set; } = "";
}

/// <summary>The <c>Intake</c> section.</summary>
public sealed class IntakeSettings
{
    public const string Section = "Intake";

    [Range(1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 256 * 1024;
}

public enum HostKind
{
    /// <summary>Azure Functions isolated worker: the Functions host polls the queue and runs the timers.</summary>
    Functions,

    /// <summary>Standalone ASP.NET Core host: its own queue consumer and timers.</summary>
    Standalone,
}
