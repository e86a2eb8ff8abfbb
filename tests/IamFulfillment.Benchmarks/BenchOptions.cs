namespace IamFulfillment.Benchmarks;

public sealed record BenchOptions
{
    /// <summary>Measured tickets per request type and latency (after the warm-up).</summary>
    public int Samples { get; init; } = 30;

    /// <summary>Tickets of every kind the host processes before measurements start.</summary>
    public int WarmUpRounds { get; init; } = 10;

    /// <summary>Added latency per ITSM and Graph call, in milliseconds.</summary>
    public IReadOnlyList<int> Latencies { get; init; } = [0, 20, 50];

    /// <summary>The latency the targets are set at (ratio ≤ 1.25) and throughput and bulk runs use.</summary>
    public int TargetLatency { get; init; } = 20;

    public IReadOnlyList<int> InFlight { get; init; } = [1, 8, 64];

    /// <summary>Tickets per throughput run: at least this many, and at least four per ticket in flight.</summary>
    public int ThroughputTickets { get; init; } = 48;

    public int BulkUsers { get; init; } = 1000;

    /// <summary>Host starts timed from process start to the first accepted webhook.</summary>
    public int Starts { get; init; } = 3;

    /// <summary>Diagnostics: print the call timeline of this many tickets per kind at <see cref="TimelineLatency"/>.</summary>
    public int Timeline { get; init; }

    /// <summary>The added latency (ms) for the <see cref="Timeline"/> tickets.</summary>
    public int TimelineLatency { get; init; } = 20;

    /// <summary>Diagnostics: CPU the processes use in 10 s without tickets.</summary>
    public bool IdleProbe { get; init; }

    /// <summary>Extra environment variables for the host process (diagnostics, e.g. DOTNET_gcServer=0).</summary>
    public IReadOnlyDictionary<string, string> HostEnvironment { get; init; } = new Dictionary<string, string>();

    public bool Latency { get; init; } = true;
    public bool Throughput { get; init; } = true;
    public bool Bulk { get; init; } = true;

    public required string HostDll { get; init; }

    public string? Output { get; init; }

    public bool Quick { get; init; }
}
