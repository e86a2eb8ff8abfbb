using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace IamFulfillment.Sandbox;

/// <summary>
/// The middleware in front of a ticket-system sandbox (ServiceNow, Jira): adds the fixed latency of a real round
/// trip, injects the faults <see cref="Faults"/> draws (dropping connections itself, handing answer faults to the
/// sandbox in <see cref="FaultHeader"/>), holds requests a test asked for, and logs every call with its timing.
/// </summary>
public sealed class SandboxFrontDoor(SandboxFaults faults, Func<TimeProvider> time, Func<HttpRequest, IReadOnlyDictionary<string, string>>? headersToLog = null)
{
    /// <summary>Carries an answer fault to the sandbox's handler as "Kind:RetryAfterSeconds"; removed from every incoming request first.</summary>
    public const string FaultHeader = "X-IamF-Sandbox-Fault";

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    private readonly ConcurrentQueue<SandboxCall> _calls = new();
    private int _inFlight;
    private int _peakConcurrency;
    private int _answeredWave;
    private long _latencyTicks;

    public SandboxFaults Faults { get; } = faults;

    /// <summary>Requests a test holds at the front door (e.g. a write-back while the service is killed).</summary>
    public RequestHolds Holds { get; } = new();

    /// <summary>Fixed latency added to every call, as a real instance's round trip would.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>How many calls <see cref="Calls"/> keeps (the oldest are dropped), so long benchmark runs stay small.</summary>
    public int MaxCallLog { get; set; } = 100_000;

    /// <summary>Every call so far (up to <see cref="MaxCallLog"/>), oldest first.</summary>
    public IReadOnlyList<SandboxCall> Calls => [.. _calls];

    /// <summary>The most calls that were in progress at once (shows whether a client runs calls in parallel).</summary>
    public int PeakConcurrency => Volatile.Read(ref _peakConcurrency);

    /// <summary>Raised for every call as it is logged (after the latency and the handling), on the server's thread: keep handlers short.</summary>
    public event Action<SandboxCall>? CallLogged;

    /// <summary>Calls with this method whose path contains <paramref name="pathContains"/> (case-insensitive); faulted calls count too.</summary>
    public int CallCount(string method, string? pathContains = null) =>
        _calls.Count(c => string.Equals(c.Method, method, StringComparison.OrdinalIgnoreCase)
            && (pathContains is null || c.Path.Contains(pathContains, StringComparison.OrdinalIgnoreCase)));

    public void ResetCalls()
    {
        _calls.Clear();
        Interlocked.Exchange(ref _peakConcurrency, 0);
        Interlocked.Exchange(ref _answeredWave, 0);
    }

    /// <summary>The middleware itself (<c>app.Use(frontDoor.InvokeAsync)</c>).</summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        for (var peak = Volatile.Read(ref _peakConcurrency); inFlight > peak; peak = Volatile.Read(ref _peakConcurrency))
        {
            if (Interlocked.CompareExchange(ref _peakConcurrency, inFlight, peak) == peak)
            {
                break;
            }
        }

        try
        {
            var received = time().GetUtcNow();
            var wave = Volatile.Read(ref _answeredWave) + 1;
            context.Request.Headers.Remove(FaultHeader);
            var latency = Latency;
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, context.RequestAborted);
            }

            // Counted as answered before it is handled: a call sent after reading the answer must never share its wave.
            RaiseAnsweredWave(wave);

            var method = context.Request.Method;
            var path = context.Request.Path.Value ?? "/";
            var query = context.Request.QueryString.Value ?? string.Empty;
            var headers = headersToLog?.Invoke(context.Request) ?? NoHeaders;
            void Log(int status, SandboxFaultKind? kind) =>
                Record(new SandboxCall(method, path, query, time().GetUtcNow(), status, kind) { Headers = headers, ReceivedAt = received, Wave = wave });

            var fault = Faults.Next(method, path);
            if (fault?.Kind is SandboxFaultKind.ConnectionReset or SandboxFaultKind.Timeout)
            {
                if (fault.Kind == SandboxFaultKind.Timeout)
                {
                    await StallAsync(Faults.TimeoutStall, context.RequestAborted);
                }

                Log(0, fault.Kind);
                context.Abort();
                return;
            }

            if (fault?.Kind == SandboxFaultKind.LostAnswer)
            {
                // Let the sandbox act, keep the answer from the wire, then drop the connection.
                var wire = context.Response.Body;
                context.Response.Body = new MemoryStream();
                try
                {
                    await next();
                }
                finally
                {
                    context.Response.Body = wire;
                }

                Log(0, fault.Kind);
                context.Abort();
                return;
            }

            if (fault is not null)
            {
                context.Request.Headers[FaultHeader] = $"{fault.Kind}:{fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture)}";
            }

            var body = Holds.MatchesBodies ? await RequestHolds.ReadBodyAsync(context.Request) : null;
            if (!await RequestHolds.RunAsync(Holds.Match(method, path, body), context, next))
            {
                Log(0, fault?.Kind);
                context.Abort();
                return;
            }

            Log(context.Response.StatusCode, fault?.Kind);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Reads an answer fault the front door handed on: the kind and the Retry-After seconds.</summary>
    public static (SandboxFaultKind Kind, int RetryAfterSeconds) ParseFault(string value)
    {
        var parts = value.Split(':');
        return (Enum.Parse<SandboxFaultKind>(parts[0]), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Waits like a server that never answers; ends early when the client gives up.</summary>
    private static async Task StallAsync(TimeSpan stall, CancellationToken aborted)
    {
        try
        {
            await Task.Delay(stall, aborted);
        }
        catch (OperationCanceledException)
        {
            // The client timed out first.
        }
    }

    private void RaiseAnsweredWave(int wave)
    {
        for (var deepest = Volatile.Read(ref _answeredWave); wave > deepest; deepest = Volatile.Read(ref _answeredWave))
        {
            if (Interlocked.CompareExchange(ref _answeredWave, wave, deepest) == deepest)
            {
                return;
            }
        }
    }

    private void Record(SandboxCall call)
    {
        _calls.Enqueue(call);
        while (_calls.Count > MaxCallLog && _calls.TryDequeue(out _))
        {
        }

        CallLogged?.Invoke(call);
    }
}
