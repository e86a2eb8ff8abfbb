using System.Diagnostics;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.Jira;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class JiraTimingCollection
{
    public const string Name = "Jira timing";
}

/// <summary>Round-trip tests: they measure wall-clock time, so they run alone, after the parallel tests.</summary>
[Collection(JiraTimingCollection.Name)]
public sealed class JiraLatencyTests : IDisposable
{
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task Read_IndependentCalls_RunInParallel()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        await connector.ReadAsync(key, CancellationToken.None); // warm up connections
        _world.Sandbox.ResetCalls();
        _world.Sandbox.Latency = TimeSpan.FromMilliseconds(150);

        var watch = Stopwatch.StartNew();
        await connector.ReadAsync(key, CancellationToken.None);
        watch.Stop();

        Assert.Equal(new Dictionary<string, int>
        {
            ["GET /rest/servicedeskapi/request/{key}"] = 1,
            ["GET /rest/servicedeskapi/request/{key}/approval"] = 1,
            ["GET /rest/api/3/issue/{key}"] = 1,
        }, _world.Sandbox.CallsByEndpoint());
        Assert.Equal(3, _world.Sandbox.PeakConcurrency);
        // One round trip: sequential calls would take three (450 ms).
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(2.5 * 150), $"a read took {watch.ElapsedMilliseconds} ms for one round trip of 150 ms");
    }

    /// <summary>
    /// The customer comment and the transition go out together; the internal note follows them, because it is the
    /// write-back's commit record (a note on the ticket means the rest is there too).
    /// </summary>
    [Fact]
    public async Task WriteBack_IndependentWrites_RunInParallel_AndTheNoteFollowsThem()
    {
        var connector = _world.Connector();
        var warmUp = await connector.ReadAsync(_world.CreateAccessRequest(), CancellationToken.None);
        await connector.WriteBackAsync(warmUp, Fulfilled(), CancellationToken.None);
        var key = _world.CreateAccessRequest();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();
        _world.Sandbox.Latency = TimeSpan.FromMilliseconds(150);

        var watch = Stopwatch.StartNew();
        await connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);
        watch.Stop();

        // Two round trips: sequential writes would take three (450 ms).
        var calls = _world.Sandbox.Calls;
        Assert.Equal(3, calls.Count);
        Assert.Equal(2, _world.Sandbox.PeakConcurrency);
        Assert.EndsWith("/comment", calls.OrderBy(c => c.ReceivedAt).Last().Path, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(3.5 * 150), $"the write-back took {watch.ElapsedMilliseconds} ms for two round trips of 150 ms");
    }

    private static WriteBack Fulfilled() => new()
    {
        Outcome = Outcome.Fulfilled,
        CustomerComment = "You now have access to finance reports until 2026-12-31.",
        InternalNote = "Added to grp-finance-read (object id 1111).",
        Marker = "[iamf:r0123456789abcdef0123:fulfilled]",
    };
}
