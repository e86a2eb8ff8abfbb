using Microsoft.AspNetCore.Http;

namespace IamFulfillment.Sandbox;

/// <summary>Where a held request waits: before the sandbox acts on it, or after it acted but before the answer is sent.</summary>
public enum HoldPoint
{
    /// <summary>Nothing is applied until the hold is released; dropped, the request is never applied.</summary>
    BeforeHandling,

    /// <summary>The request is applied at once; its answer waits. Dropped, the answer is lost (the change stays).</summary>
    AfterHandling,
}

/// <summary>
/// Requests a test stops at a sandbox's front door, to put a client in a known state at a known moment: e.g. the
/// service has made the directory change and its write-back is on the wire, so a crash can be landed exactly there
/// without any hook in the service. A hold matches the next <c>times</c> requests by method and path (and, where two
/// requests share a path, e.g. a Jira customer comment and internal note, by a piece of the body); each waits until
/// the test releases (answer normally) or drops (abort the connection) it, or the client goes away.
/// </summary>
public sealed class RequestHolds
{
    private readonly Lock _gate = new();
    private readonly List<RequestHold> _holds = [];

    /// <summary>
    /// Holds the next <paramref name="times"/> requests whose method and path match (case-insensitive; null = any) and
    /// whose body contains <paramref name="bodyContains"/> (ordinal; null = any body).
    /// </summary>
    public RequestHold Add(string? method, string? pathContains, HoldPoint point = HoldPoint.BeforeHandling, int times = 1, string? bodyContains = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        var hold = new RequestHold(method, pathContains, point, times, bodyContains);
        lock (_gate)
        {
            _holds.Add(hold);
        }

        return hold;
    }

    /// <summary>Drops every held request and forgets every hold (e.g. before the sandbox is disposed).</summary>
    public void DropAll()
    {
        RequestHold[] all;
        lock (_gate)
        {
            all = [.. _holds];
            _holds.Clear();
        }

        foreach (var hold in all)
        {
            hold.Drop();
        }
    }

    /// <summary>Whether a hold looks at bodies: only then does the front door read one before the sandbox does.</summary>
    public bool MatchesBodies
    {
        get
        {
            lock (_gate)
            {
                return _holds.Any(h => h.BodyContains is not null);
            }
        }
    }

    /// <summary>The hold this request falls under, if any (consumes one of its matches).</summary>
    public RequestHold? Match(string method, string path, string? body = null)
    {
        lock (_gate)
        {
            foreach (var hold in _holds)
            {
                if (hold.TryTake(method, path, body))
                {
                    return hold;
                }
            }

            return null;
        }
    }

    /// <summary>Whether any hold is set (only then is a request's body worth reading for a match).</summary>
    public bool Any
    {
        get
        {
            lock (_gate)
            {
                return _holds.Count > 0;
            }
        }
    }

    /// <summary>The request body as text, left readable for the handler behind the front door.</summary>
    internal static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return body;
    }

    /// <summary>
    /// Runs <paramref name="handle"/> under <paramref name="hold"/>: waits before or after it as the hold says. Returns
    /// false when the request must be aborted (dropped, or the client went away while it waited).
    /// </summary>
    public static async Task<bool> RunAsync(RequestHold? hold, HttpContext context, Func<Task> handle)
    {
        if (hold is null)
        {
            await handle();
            return true;
        }

        if (hold.Point == HoldPoint.BeforeHandling)
        {
            if (!await hold.WaitAsync(context.RequestAborted))
            {
                return false;
            }

            await handle();
            return true;
        }

        // After handling: keep the answer off the wire until the hold ends.
        var wire = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await handle();
        }
        finally
        {
            context.Response.Body = wire;
        }

        if (!await hold.WaitAsync(context.RequestAborted))
        {
            return false;
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(wire, context.RequestAborted);
        return true;
    }
}

/// <summary>One hold: see <see cref="RequestHolds"/>.</summary>
public sealed class RequestHold
{
    private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _method;
    private readonly string? _pathContains;
    private int _remaining;
    private int _held;

    internal RequestHold(string? method, string? pathContains, HoldPoint point, int times, string? bodyContains = null)
    {
        _method = method;
        _pathContains = pathContains;
        Point = point;
        _remaining = times;
        BodyContains = bodyContains;
    }

    public HoldPoint Point { get; }

    /// <summary>What a held request's body must contain (null: any body).</summary>
    public string? BodyContains { get; }

    /// <summary>Completes when the first matching request is being held.</summary>
    public Task Arrived => _arrived.Task;

    /// <summary>Requests held so far.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Lets every held (and later matching) request go on normally.</summary>
    public void Release() => _outcome.TrySetResult(true);

    /// <summary>Aborts every held (and later matching) request's connection: before handling nothing is applied; after it, the answer is lost.</summary>
    public void Drop() => _outcome.TrySetResult(false);

    internal bool TryTake(string method, string path, string? body)
    {
        if (_remaining <= 0
            || (_method is not null && !string.Equals(_method, method, StringComparison.OrdinalIgnoreCase))
            || (_pathContains is not null && !path.Contains(_pathContains, StringComparison.OrdinalIgnoreCase))
            || (BodyContains is not null && body?.Contains(BodyContains, StringComparison.Ordinal) != true))
        {
            return false;
        }

        _remaining--;
        return true;
    }

    internal async Task<bool> WaitAsync(CancellationToken aborted)
    {
        Interlocked.Increment(ref _held);
        _arrived.TrySetResult();
        try
        {
            return await _outcome.Task.WaitAsync(aborted);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
