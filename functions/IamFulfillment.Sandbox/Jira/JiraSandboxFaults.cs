namespace IamFulfillment.Sandbox.Jira;

public enum JiraFaultKind
{
    /// <summary>429 with <c>Retry-After</c> (seconds), <c>X-RateLimit-Reset</c> (ISO yyyy-MM-ddTHH:mmZ) and the other rate-limit headers.</summary>
    RateLimited,

    /// <summary>429 that names only <c>X-RateLimit-Reset</c> (no Retry-After): the client has to read the ISO time.</summary>
    RateLimitedResetOnly,

    /// <summary>500 Internal Server Error.</summary>
    ServerError,

    /// <summary>503 Service Unavailable with <c>Retry-After</c>.</summary>
    Unavailable,

    /// <summary>The connection is aborted without an answer: the client sees a transport error.</summary>
    ConnectionReset,

    /// <summary>The call is carried out, then the connection is aborted: the change happened but its answer was lost.</summary>
    LostAnswer,

    /// <summary>No answer for <see cref="JiraSandboxFaults.TimeoutStall"/>, then the connection is aborted; nothing is applied.</summary>
    Timeout,
}

public sealed record JiraFault(JiraFaultKind Kind, int RetryAfterSeconds);

/// <summary>One call the sandbox answered (<see cref="Status"/> 0 when the connection was dropped).</summary>
public sealed record JiraCall(string Method, string Path, string Query, DateTimeOffset At, int Status, JiraFaultKind? Fault)
{
    /// <summary>When the request arrived (before latency and handling); <see cref="At"/> is when it was answered or dropped.</summary>
    public DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>
/// Decides which calls fail and how: scripted faults (the next N calls that match) first, then random faults drawn
/// from a seeded generator, so the same seed and the same call order fail the same way.
/// </summary>
public sealed class JiraSandboxFaults
{
    private readonly Lock _gate = new();
    private readonly List<Scripted> _scripted = [];
    private Random _random;

    public JiraSandboxFaults(int seed = 1) => _random = new Random(seed);

    /// <summary>Probability (0..1) that a call is answered 429.</summary>
    public double RateLimitProbability { get; set; }

    public double ServerErrorProbability { get; set; }

    public double UnavailableProbability { get; set; }

    public double ConnectionResetProbability { get; set; }

    /// <summary>Probability that a call is applied and its answer lost (the connection drops after the change).</summary>
    public double LostAnswerProbability { get; set; }

    /// <summary>Probability that a call is not answered at all (see <see cref="TimeoutStall"/>).</summary>
    public double TimeoutProbability { get; set; }

    /// <summary>How long a <see cref="JiraFaultKind.Timeout"/> keeps the client waiting before the connection is dropped.</summary>
    public TimeSpan TimeoutStall { get; set; } = TimeSpan.FromSeconds(35);

    /// <summary>Retry-After of random 429/503 answers (and of scripted ones that do not say).</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Random faults hit only paths starting with this.</summary>
    public string RandomFaultPathPrefix { get; set; } = "/rest/";

    /// <summary>Makes the next <paramref name="times"/> calls matching <paramref name="method"/> and <paramref name="pathContains"/> fail.</summary>
    public void Enqueue(JiraFaultKind kind, string? method = null, string? pathContains = null, int times = 1, int? retryAfterSeconds = null)
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

    /// <summary>The fault for this call, if any (consumes a scripted fault, or one random draw).</summary>
    public JiraFault? Next(string method, string path)
    {
        lock (_gate)
        {
            for (var i = 0; i < _scripted.Count; i++)
            {
                var s = _scripted[i];
                if ((s.Method is null || string.Equals(s.Method, method, StringComparison.OrdinalIgnoreCase))
                    && (s.PathContains is null || path.Contains(s.PathContains, StringComparison.OrdinalIgnoreCase)))
                {
                    if (--s.Remaining <= 0)
                    {
                        _scripted.RemoveAt(i);
                    }

                    return new JiraFault(s.Kind, s.RetryAfterSeconds ?? RetryAfterSeconds);
                }
            }

            var total = RateLimitProbability + ServerErrorProbability + UnavailableProbability + ConnectionResetProbability + LostAnswerProbability + TimeoutProbability;
            if (total <= 0 || !path.StartsWith(RandomFaultPathPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

#pragma warning disable CA5394 // fault injection, not security
            var draw = _random.NextDouble();
#pragma warning restore CA5394
            foreach (var (kind, probability) in new[]
                     {
                         (JiraFaultKind.RateLimited, RateLimitProbability), (JiraFaultKind.ServerError, ServerErrorProbability),
                         (JiraFaultKind.Unavailable, UnavailableProbability), (JiraFaultKind.ConnectionReset, ConnectionResetProbability),
                         (JiraFaultKind.LostAnswer, LostAnswerProbability), (JiraFaultKind.Timeout, TimeoutProbability),
                     })
            {
                if ((draw -= probability) < 0)
                {
                    return new JiraFault(kind, RetryAfterSeconds);
                }
            }

            return null;
        }
    }

    private sealed class Scripted(JiraFaultKind kind, string? method, string? pathContains, int remaining, int? retryAfterSeconds)
    {
        public JiraFaultKind Kind { get; } = kind;
        public string? Method { get; } = method;
        public string? PathContains { get; } = pathContains;
        public int Remaining { get; set; } = remaining;
        public int? RetryAfterSeconds { get; } = retryAfterSeconds;
    }
}
