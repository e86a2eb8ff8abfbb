namespace IamFulfillment.Sandbox.Graph;

public enum SandboxFaultKind
{
    /// <summary>429 <c>TooManyRequests</c> with <c>Retry-After</c>; nothing is applied.</summary>
    Throttle,

    /// <summary>500 <c>InternalServerError</c>; nothing is applied.</summary>
    ServerError,

    /// <summary>503 <c>ServiceUnavailable</c> with <c>Retry-After</c>; nothing is applied.</summary>
    Unavailable,

    /// <summary>The connection is dropped before the request is handled (HTTP calls only, not batch items).</summary>
    ResetBeforeHandling,

    /// <summary>The request is applied, then the connection is dropped: the response is lost (HTTP calls only).</summary>
    ResetAfterHandling,

    /// <summary>No answer for <see cref="GraphSandboxFaults.TimeoutStall"/>, then the connection is dropped; nothing is applied (HTTP calls only).</summary>
    Timeout,
}

public enum SandboxFaultScope
{
    /// <summary>A plain HTTP call or a request inside a batch.</summary>
    Any,

    /// <summary>A plain HTTP call (not <c>$batch</c>).</summary>
    DirectCall,

    /// <summary>The <c>$batch</c> HTTP call as a whole.</summary>
    BatchCall,

    /// <summary>One request inside a <c>$batch</c>.</summary>
    BatchItem,
}

/// <summary>A scripted fault: the next matching request(s) get it.</summary>
public sealed record SandboxFault(SandboxFaultKind Kind)
{
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
    public SandboxFaultScope Scope { get; init; } = SandboxFaultScope.Any;

    /// <summary>Only requests with this method (e.g. "POST"); null = any.</summary>
    public string? Method { get; init; }

    /// <summary>Only requests whose path contains this text (e.g. "/members/$ref"); null = any.</summary>
    public string? PathContains { get; init; }
}

/// <summary>
/// Fault injection for reliability tests and the benchmark: scripted faults (deterministic, first match wins) and
/// seeded random ones. Random throttling and server errors hit plain calls and batch items; random connection
/// resets hit HTTP calls only.
/// </summary>
public sealed class GraphSandboxFaults
{
    private readonly Lock _gate = new();
    private readonly List<(SandboxFault Fault, int Remaining)> _scripted = [];
    private Random _random;

    internal GraphSandboxFaults(int seed) => _random = CreateRandom(seed);

    public double ThrottleProbability { get; set; }
    public TimeSpan ThrottleRetryAfter { get; set; } = TimeSpan.FromSeconds(1);
    public double ServerErrorProbability { get; set; }
    public double UnavailableProbability { get; set; }
    public TimeSpan UnavailableRetryAfter { get; set; } = TimeSpan.FromSeconds(1);
    public double ResetBeforeHandlingProbability { get; set; }
    public double ResetAfterHandlingProbability { get; set; }
    public double TimeoutProbability { get; set; }

    /// <summary>How long a <see cref="SandboxFaultKind.Timeout"/> keeps the client waiting before the connection is dropped.</summary>
    public TimeSpan TimeoutStall { get; set; } = TimeSpan.FromSeconds(35);

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="fault"/> get it.</summary>
    public void Next(SandboxFault fault, int times = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        lock (_gate)
        {
            _scripted.Add((fault, times));
        }
    }

    public void Reseed(int seed)
    {
        lock (_gate)
        {
            _random = CreateRandom(seed);
        }
    }

    /// <summary>Removes scripted faults and sets every probability to zero.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _scripted.Clear();
            ThrottleProbability = ServerErrorProbability = UnavailableProbability = 0;
            ResetBeforeHandlingProbability = ResetAfterHandlingProbability = TimeoutProbability = 0;
        }
    }

    internal SandboxFault? Pick(SandboxFaultScope scope, string method, string path)
    {
        lock (_gate)
        {
            for (var i = 0; i < _scripted.Count; i++)
            {
                var (fault, remaining) = _scripted[i];
                if (!Matches(fault, scope, method, path))
                {
                    continue;
                }

                if (remaining <= 1)
                {
                    _scripted.RemoveAt(i);
                }
                else
                {
                    _scripted[i] = (fault, remaining - 1);
                }

                return fault;
            }

            if (scope == SandboxFaultScope.BatchCall)
            {
                // A whole batch is only hit by scripted faults and resets; random 429/5xx hit its items.
                return Roll(ResetBeforeHandlingProbability) ? new SandboxFault(SandboxFaultKind.ResetBeforeHandling)
                    : Roll(ResetAfterHandlingProbability) ? new SandboxFault(SandboxFaultKind.ResetAfterHandling)
                    : null;
            }

            if (scope == SandboxFaultScope.DirectCall)
            {
                if (Roll(ResetBeforeHandlingProbability))
                {
                    return new SandboxFault(SandboxFaultKind.ResetBeforeHandling);
                }

                if (Roll(ResetAfterHandlingProbability))
                {
                    return new SandboxFault(SandboxFaultKind.ResetAfterHandling);
                }

                if (Roll(TimeoutProbability))
                {
                    return new SandboxFault(SandboxFaultKind.Timeout);
                }
            }

            return Roll(ThrottleProbability) ? new SandboxFault(SandboxFaultKind.Throttle) { RetryAfter = ThrottleRetryAfter }
                : Roll(ServerErrorProbability) ? new SandboxFault(SandboxFaultKind.ServerError)
                : Roll(UnavailableProbability) ? new SandboxFault(SandboxFaultKind.Unavailable) { RetryAfter = UnavailableRetryAfter }
                : null;
        }
    }

    private static bool Matches(SandboxFault fault, SandboxFaultScope scope, string method, string path)
    {
        var scopeMatches = fault.Scope == scope
            || (fault.Scope == SandboxFaultScope.Any && scope is SandboxFaultScope.DirectCall or SandboxFaultScope.BatchItem);
        var resetInsideBatch = scope == SandboxFaultScope.BatchItem && fault.Kind is SandboxFaultKind.ResetBeforeHandling or SandboxFaultKind.ResetAfterHandling or SandboxFaultKind.Timeout;
        return scopeMatches && !resetInsideBatch
            && (fault.Method is null || string.Equals(fault.Method, method, StringComparison.OrdinalIgnoreCase))
            && (fault.PathContains is null || path.Contains(fault.PathContains, StringComparison.OrdinalIgnoreCase));
    }

    private bool Roll(double probability) => probability > 0 && _random.NextDouble() < probability;

#pragma warning disable CA5394 // fault injection in a test server, not security
    private static Random CreateRandom(int seed) => new(seed);
#pragma warning restore CA5394
}
