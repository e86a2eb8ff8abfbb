using System.Collections.Concurrent;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Benchmarks;

/// <summary>Calls seen by the sandboxes so far; the difference of two snapshots is what happened in between.</summary>
public readonly record struct CallCounts(long ServiceNow, long Jira, long GraphHttp, long GraphRequests)
{
    public static CallCounts operator -(CallCounts a, CallCounts b) =>
        new(a.ServiceNow - b.ServiceNow, a.Jira - b.Jira, a.GraphHttp - b.GraphHttp, a.GraphRequests - b.GraphRequests);

    public static CallCounts operator +(CallCounts a, CallCounts b) =>
        new(a.ServiceNow + b.ServiceNow, a.Jira + b.Jira, a.GraphHttp + b.GraphHttp, a.GraphRequests + b.GraphRequests);
}

/// <summary>
/// Hooks the sandboxes' call logs: counts every call, and completes a ticket's watch when the sandbox has logged the
/// ticket's last write-back call (the sandbox logs a call after its added latency and its handling, i.e. when the
/// write has reached the ticket). Writes are recognised by method and path, so tickets in flight together are told
/// apart.
/// </summary>
public sealed class CallTracker : IDisposable
{
    private readonly SandboxWorld _world;
    private readonly ConcurrentDictionary<string, TicketWatch> _watches = new(StringComparer.Ordinal);
    private long _serviceNow;
    private long _jira;
    private long _graphHttp;
    private long _graphRequests;

    public CallTracker(SandboxWorld world)
    {
        _world = world;
        world.ServiceNow.CallLogged += OnServiceNow;
        world.Jira!.CallLogged += OnJira;
        world.Graph.HttpCallLogged += OnGraph;
    }

    /// <summary>When set, every call is kept for <see cref="TakeTimeline"/> (diagnostics: where a ticket's time goes).</summary>
    public bool Recording { get; set; }

    private readonly ConcurrentQueue<TimedCall> _timeline = new();

    /// <summary>The calls recorded since the last take, oldest first.</summary>
    public IReadOnlyList<TimedCall> TakeTimeline()
    {
        var calls = new List<TimedCall>();
        while (_timeline.TryDequeue(out var call))
        {
            calls.Add(call);
        }

        return [.. calls.OrderBy(c => c.At)];
    }

    public CallCounts Counts => new(Interlocked.Read(ref _serviceNow), Interlocked.Read(ref _jira), Interlocked.Read(ref _graphHttp), Interlocked.Read(ref _graphRequests));

    /// <summary>Starts watching a ticket: done once <paramref name="writes"/> write calls for it have been logged.</summary>
    public TicketWatch Watch(PreparedTicket ticket, int writes)
    {
        var watch = new TicketWatch(writes);
        _watches[ticket.Key] = watch;
        return watch;
    }

    public void Forget(PreparedTicket ticket) => _watches.TryRemove(ticket.Key, out _);

    public void Dispose()
    {
        _world.ServiceNow.CallLogged -= OnServiceNow;
        _world.Jira!.CallLogged -= OnJira;
        _world.Graph.HttpCallLogged -= OnGraph;
    }

    private static string Query(string query)
    {
        var at = query.IndexOf("sysparm_query=", StringComparison.Ordinal);
        if (at < 0)
        {
            return "";
        }

        var text = Uri.UnescapeDataString(query[(at + 14)..].Split('&')[0]);
        return " " + (text.Length > 40 ? text[..40] : text);
    }

    private void Record(DateTimeOffset received, DateTimeOffset at, string system, string call)
    {
        if (Recording)
        {
            _timeline.Enqueue(new TimedCall(received, at, system, call));
        }
    }

    private void OnServiceNow(SandboxCall call)
    {
        Interlocked.Increment(ref _serviceNow);
        Record(call.ReceivedAt, call.At, "ServiceNow", $"{call.Method} {call.Path}{Query(call.Query)}");
        const string ItemPath = "/api/now/table/sc_req_item/";
        if (call.Method != "GET" && call.Path.StartsWith(ItemPath, StringComparison.Ordinal)
            && _watches.TryGetValue(call.Path[ItemPath.Length..], out var watch))
        {
            watch.Written(call.At);
        }
    }

    private void OnJira(SandboxCall call)
    {
        Interlocked.Increment(ref _jira);
        Record(call.ReceivedAt, call.At, "Jira", $"{call.Method} {call.Path}");
        if (call.Method == "GET")
        {
            return;
        }

        // POST .../request/{key}/comment, POST .../issue/{key}/transitions, PUT .../issue/{key}
        var segments = call.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < segments.Length - 1; i++)
        {
            if (segments[i] is "request" or "issue" && _watches.TryGetValue(segments[i + 1], out var watch))
            {
                watch.Written(call.At);
                return;
            }
        }
    }

    private void OnGraph(SandboxRequest call)
    {
        Interlocked.Increment(ref _graphHttp);
        Record(call.ReceivedAt, call.At, "Graph", $"{call.Method} {call.Path}{(call.BatchSize is { } size ? $" ({size})" : "")}");
        Interlocked.Add(ref _graphRequests, call.BatchSize ?? 1);
    }
}

/// <summary>One call as a sandbox saw it: arrived (before the added latency), logged (answered; Graph: handled).</summary>
public sealed record TimedCall(DateTimeOffset ReceivedAt, DateTimeOffset At, string System, string Call);

/// <summary>One ticket's write-back as the ticket system received it.</summary>
public sealed class TicketWatch(int expectedWrites)
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<DateTimeOffset> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _writes;
    private DateTimeOffset _last;

    /// <summary>When the last write-back call was received.</summary>
    public Task<DateTimeOffset> Completed => _done.Task;

    public int Writes
    {
        get
        {
            lock (_gate)
            {
                return _writes;
            }
        }
    }

    public void Written(DateTimeOffset at)
    {
        lock (_gate)
        {
            _writes++;
            if (at > _last)
            {
                _last = at;
            }

            if (_writes >= expectedWrites)
            {
                _done.TrySetResult(_last);
            }
        }
    }
}
