using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.Jira;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class JiraTimingCollection
{
    public const string Name = "Jira timing";
}

/// <summary>Round-trip tests: they count round trips on a sandbox with a real latency, so they run alone, after the parallel tests.</summary>
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

        await connector.ReadAsync(key, CancellationToken.None);

        Assert.Equal(new Dictionary<string, int>
        {
            ["GET /rest/servicedeskapi/request/{key}"] = 1,
            ["GET /rest/servicedeskapi/request/{key}/approval"] = 1,
            ["GET /rest/api/3/issue/{key}"] = 1,
        }, _world.Sandbox.CallsByEndpoint());
        Assert.Equal(3, _world.Sandbox.PeakConcurrency);
        Assert.All(_world.Sandbox.Calls, c => Assert.Equal(1, c.Wave)); // one round trip: no call waited for another's answer
    }

    /// <summary>
    /// The customer comment, the internal note and the transition go out together: the note says what it was sent
    /// with, so it no longer has to wait for the others to be a reliable record of the write-back.
    /// </summary>
    [Fact]
    public async Task WriteBack_CommentNoteAndTransition_TakeOneRoundTrip()
    {
        var connector = _world.Connector();
        var warmUp = await connector.ReadAsync(_world.CreateAccessRequest(), CancellationToken.None);
        await connector.WriteBackAsync(warmUp, Fulfilled(), CancellationToken.None);
        var key = _world.CreateAccessRequest();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();
        _world.Sandbox.Latency = TimeSpan.FromMilliseconds(150);

        await connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);

        // One round trip: every write reached the server before the first answer left it.
        var calls = _world.Sandbox.Calls;
        Assert.Equal(3, calls.Count);
        Assert.Equal(3, _world.Sandbox.PeakConcurrency);
        Assert.True(calls.Max(c => c.ReceivedAt) < calls.Min(c => c.At), "a write was sent only after another was answered");
        Assert.All(calls, c => Assert.Equal(1, c.Wave));
    }

    private static WriteBack Fulfilled() => new()
    {
        Outcome = Outcome.Fulfilled,
        CustomerComment = "You now have access to finance reports until 2026-12-31.",
        InternalNote = "Added to grp-finance-read (object id 1111).",
        Marker = "[iamf:r0123456789abcdef0123:fulfilled]",
    };
}
