namespace IamFulfillment.Sandbox;

/// <summary>The faults the ServiceNow and Jira sandboxes inject; each sandbox answers them in its platform's dialect.</summary>
public enum SandboxFaultKind
{
    /// <summary>429 with Retry-After (seconds), X-RateLimit-Reset (ServiceNow: UNIX time; Jira: ISO minute) and the platform's error body.</summary>
    RateLimited,

    /// <summary>500 Internal Server Error.</summary>
    ServerError,

    /// <summary>503 Service Unavailable (Jira adds Retry-After).</summary>
    Unavailable,

    /// <summary>The connection is aborted without an answer: the client sees a transport error.</summary>
    ConnectionReset,

    /// <summary>401 as if the credentials were rejected (ServiceNow).</summary>
    Unauthorized,

    /// <summary>429 that names only X-RateLimit-Reset (UNIX seconds), no Retry-After: the client has to read the reset time.</summary>
    RateLimitedResetOnly,

    /// <summary>The call is carried out, then the connection is aborted: the change happened but its answer was lost.</summary>
    LostAnswer,

    /// <summary>No answer for <see cref="SandboxFaults.TimeoutStall"/>, then the connection is aborted; nothing is applied.</summary>
    Timeout,
}

public sealed record SandboxFault(SandboxFaultKind Kind, int RetryAfterSeconds);

/// <summary>
/// One call a ticket-system sandbox answered (or dropped, <see cref="Status"/> 0), with the request headers that
/// sandbox logs (ServiceNow: Accept, Content-Type, X-no-response-body and the Authorization scheme, never its value).
/// </summary>
public sealed record SandboxCall(string Method, string Path, string Query, DateTimeOffset At, int Status, SandboxFaultKind? Fault)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>When the request arrived (before latency and handling); <see cref="At"/> is when it was answered or dropped.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>
    /// How many round trips deep the call came: 1, or one more than the deepest call already answered (its latency
    /// served) when it arrived. Calls a client sends together share a wave; one sent after reading another's answer
    /// is a wave later. Unlike elapsed time, it does not move on a busy machine.
    /// </summary>
    public int Wave { get; init; }
}

/// <summary>
/// Decides which calls fail and how: scripted faults (the next N matching calls) first, then random faults drawn
/// from a seeded <see cref="Random"/>, so a run with the same seed and the same call order fails the same way.
/// </summary>
public sealed class SandboxFaults
{
    private readonly Lock _gate = new();
    private readonly List<Scripted> _scripted = [];
    private Random _random;

    public SandboxFaults(int seed = 1) => _random = new Random(seed);

    /// <summary>Probability (0..1) that a call is answered 429.</summary>
    public double RateLimitProbability { get; set; }

    public double ServerErrorProbability { get; set; }

    public double UnavailableProbability { get; set; }

    public double ConnectionResetProbability { get; set; }

    /// <summary>Probability that a call is applied and its answer lost (the connection drops after the change).</summary>
    public double LostAnswerProbability { get; set; }

    /// <summary>Probability that a call is not answered at all (see <see cref="TimeoutStall"/>).</summary>
    public double TimeoutProbability { get; set; }

    /// <summary>How long a <see cref="SandboxFaultKind.Timeout"/> keeps the client waiting before the connection is dropped.</summary>
    public TimeSpan TimeoutStall { get; set; } = TimeSpan.FromSeconds(35);

    /// <summary>Retry-After of random 429 (and Jira 503) answers, and of scripted ones that do not say.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Random faults hit only paths starting with this (ServiceNow: the Table API, not the token endpoint; Jira: the REST APIs).</summary>
    public string RandomFaultPathPrefix { get; set; } = "/api/now/";

    /// <summary>Makes the next <paramref name="times"/> calls that match <paramref name="method"/> and <paramref name="pathContains"/> fail.</summary>
    public void Enqueue(SandboxFaultKind kind, string? method = null, string? pathContains = null, int times = 1, int? retryAfterSeconds = null)
    {
        lock (_gate)
        {
            _scripted.Add(new Scripted(kind, method, pathContains, times, retryAfterSeconds));
        }
    }

    /// <summary>Removes scripted faults and sets every probability to zero.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _scripted.Clear();
            RateLimitProbability = ServerErrorProbability = UnavailableProbability = ConnectionResetProbability = 0;
            LostAnswerProbability = TimeoutProbability = 0;
        }
    }

    public void Reseed(int seed)
    {
        lock (_gate)
        {
            _random = new Random(seed);
        }
    }

    /// <summary>The fault for this call, if any (consumes a scripted fault or one random draw).</summary>
    public SandboxFault? Next(string method, string path)
    {
        lock (_gate)
        {
            for (var i = 0; i < _scripted.Count; i++)
            {
                var s = _scripted[i];
                if ((s.Method is null || string.Equals(s.Method, method, StringComparison.OrdinalIgnoreCase))
                    && (s.PathContains is null || path.Contains(s.PathContains, StringComparison.OrdinalIgnoreCase)))
                {
                    s.Remaining--;
                    if (s.Remaining <= 0)
                    {
                        _scripted.RemoveAt(i);
                    }

                    return new SandboxFault(s.Kind, s.RetryAfterSeconds ?? RetryAfterSeconds);
                }
            }

            if (!path.StartsWith(RandomFaultPathPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            var total = RateLimitProbability + ServerErrorProbability + UnavailableProbability + ConnectionResetProbability + LostAnswerProbability + TimeoutProbability;
            if (total <= 0)
            {
                return null;
            }

#pragma warning disable CA5394 // fault injection, not security
            var draw = _random.NextDouble();
#pragma warning restore CA5394
            if ((draw -= RateLimitProbability) < 0)
            {
                return new SandboxFault(SandboxFaultKind.RateLimited, RetryAfterSeconds);
            }

            if ((draw -= ServerErrorProbability) < 0)
            {
                return new SandboxFault(SandboxFaultKind.ServerError, RetryAfterSeconds);
            }

            if ((draw -= UnavailableProbability) < 0)
            {
                return new SandboxFault(SandboxFaultKind.Unavailable, RetryAfterSeconds);
            }

            if ((draw -= ConnectionResetProbability) < 0)
            {
                return new SandboxFault(SandboxFaultKind.ConnectionReset, RetryAfterSeconds);
            }

            if ((draw -= LostAnswerProbability) < 0)
            {
                return new SandboxFault(SandboxFaultKind.LostAnswer, RetryAfterSeconds);
            }

            return draw - TimeoutProbability < 0 ? new SandboxFault(SandboxFaultKind.Timeout, RetryAfterSeconds) : null;
        }
    }

    private sealed class Scripted(SandboxFaultKind kind, string? method, string? pathContains, int remaining, int? retryAfterSeconds)
    {
        public SandboxFaultKind Kind { get; } = kind;
        public string? Method { get; } = method;
        public string? PathContains { get; } = pathContains;
        public int Remaining { get; set; } = remaining;
        public int? RetryAfterSeconds { get; } = retryAfterSeconds;
    }
}
