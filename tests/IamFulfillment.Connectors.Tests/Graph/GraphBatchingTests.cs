using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphBatchingTests
{
    [Fact]
    public async Task Batching_200ConcurrentAdds_UsesAtMostTwentyCalls()
    {
        using var graph = GraphHarness.Start();
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(20); // a real Graph round trip takes longer still
        var group = graph.AddGroup("Leavers 2026");
        var users = Enumerable.Range(0, 200).Select(i => graph.AddUser($"User {i:000}")).ToList();
        graph.Sandbox.ClearLog();

        var results = await Task.WhenAll(users.Select(u => graph.Directory.ApplyAsync(new AddMember(group.Id, u.Id, "Leavers 2026"), default)));

        Assert.All(results, r => Assert.Equal(ChangeStatus.Applied, r.Status));
        var calls = graph.Sandbox.HttpCalls;
        Assert.True(calls.Count <= 20, $"{calls.Count} HTTP calls for 200 adds");
        Assert.All(calls, c => Assert.True(c.BatchSize is null or <= 20));
        Assert.Equal(200, graph.Sandbox.Requests.Count(r => r.Method == "POST"));
        Assert.Equal(users.Select(u => u.Id).Order(), graph.Sandbox.MembersOf(group.Id).Order());
        Assert.Equal(200, graph.Sandbox.Changes.MembershipsAdded);
    }

    [Fact]
    public async Task Batching_Disabled_EveryOperationIsItsOwnCall()
    {
        using var graph = GraphHarness.Start(settings => settings["Graph:Batching"] = "false");
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(5);
        var group = graph.AddGroup("Leavers 2026");
        var users = Enumerable.Range(0, 30).Select(i => graph.AddUser($"User {i:000}")).ToList();
        graph.Sandbox.ClearLog();

        await Task.WhenAll(users.Select(u => graph.Directory.ApplyAsync(new AddMember(group.Id, u.Id, "Leavers 2026"), default)));

        Assert.Equal(30, graph.Sandbox.HttpCalls.Count);
        Assert.All(graph.Sandbox.HttpCalls, c => Assert.Null(c.BatchSize));
        Assert.Equal(30, graph.Sandbox.MembersOf(group.Id).Count);
    }

    [Fact]
    public async Task Batching_LoneRequest_GoesOutAtOnceAsAPlainRequest()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        var user = graph.AddUser("Alice Example");
        var group = graph.AddGroup("Finance readers");
        graph.Sandbox.ClearLog();

        await graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default);

        var call = Assert.Single(graph.Sandbox.HttpCalls);
        Assert.Null(call.BatchSize);
        Assert.EndsWith("/members/$ref", call.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_MixedOutcomesInShuffledOrder_EachCallerGetsItsOwnResult()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(50);
        var group = graph.AddGroup("Finance readers");
        var dynamicGroup = graph.AddGroup("All staff", g => g.GroupTypes.Add("DynamicMembership"));
        var users = Enumerable.Range(0, 12).Select(i => graph.AddUser($"User {i:00}")).ToList();
        foreach (var member in users.Where((_, i) => i % 3 == 1))
        {
            graph.Sandbox.AddMember(group.Id, member.Id);
        }

        var operations = users.Select((u, i) => (i % 3) switch
        {
            0 => (Operation: (DirectoryOperation)new AddMember(group.Id, u.Id, "Finance readers"), Expected: ChangeStatus.Applied),
            1 => (new AddMember(group.Id, u.Id, "Finance readers"), ChangeStatus.NoOp),
            _ => (new RemoveMember(dynamicGroup.Id, u.Id, "All staff"), ChangeStatus.NotPermitted),
        }).ToList();
        graph.Sandbox.ClearLog();

        var results = await Task.WhenAll(operations.Select(o => graph.Directory.ApplyAsync(o.Operation, default)));

        Assert.Equal(operations.Select(o => o.Expected), results.Select(r => r.Status));
        Assert.Contains(graph.Sandbox.HttpCalls, c => c.BatchSize > 1);
        Assert.All(results, r => Assert.NotNull(r.RequestId));
    }

    [Fact]
    public async Task Batch_Inner429_RetriedAfterRetryAfter()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        using var graph = GraphHarness.Start(AlwaysBatch, time: clock);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(200);
        var group = graph.AddGroup("Finance readers");
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}")).ToList();
        graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { Scope = SandboxFaultScope.BatchItem, RetryAfter = TimeSpan.FromSeconds(5) });
        graph.Sandbox.ClearLog();

        var tasks = users.Select(u => graph.Directory.ApplyAsync(new AddMember(group.Id, u.Id, "Finance readers"), default)).ToList();

        // One add goes out alone; the other two wait for it and go out as a batch, where one is throttled.
        await WaitUntil(() => graph.Sandbox.Requests.Any(r => r.Fault == "429"));
        var posts = () => graph.Sandbox.Requests.Count(r => r.Method == "POST");
        Assert.Equal(3, posts());

        await Task.Delay(300);
        Assert.Equal(3, posts()); // the clock has not moved: no retry

        clock.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(300);
        Assert.Equal(3, posts()); // still before Retry-After

        clock.Advance(TimeSpan.FromSeconds(0.1));
        await Task.Delay(300);
        Assert.Equal(3, posts()); // exactly Retry-After: the margin for clock drift is still to run

        clock.Advance(RetryAfter.Margin);
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(results, r => Assert.Equal(ChangeStatus.Applied, r.Status));
        Assert.Equal(4, posts());
        Assert.Equal(3, graph.Sandbox.MembersOf(group.Id).Count);
        Assert.Contains(graph.Logs.GetSnapshot(), r => r.Id.Id == 3121);
    }

    [Fact]
    public async Task Batch_Inner429BeyondWhatTheRetryLayerWaits_IsHandedBackAsTransient()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(100);
        var group = graph.AddGroup("Finance readers");
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}")).ToList();
        graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { Scope = SandboxFaultScope.BatchItem, RetryAfter = TimeSpan.FromSeconds(120) });

        var attempts = users.Select(async u =>
        {
            try
            {
                return (Result: await graph.Directory.ApplyAsync(new AddMember(group.Id, u.Id, "Finance readers"), default), Error: (TransientConnectorException?)null);
            }
            catch (TransientConnectorException ex)
            {
                return (Result: (ChangeResult?)null, Error: ex);
            }
        });
        var outcomes = await Task.WhenAll(attempts);

        var throttled = Assert.Single(outcomes, o => o.Error is not null);
        Assert.Equal(TimeSpan.FromSeconds(120), throttled.Error!.RetryAfter);
        Assert.Equal(429, throttled.Error.Status);
        Assert.Equal(2, outcomes.Count(o => o.Result?.Status == ChangeStatus.Applied));
        Assert.Equal(2, graph.Sandbox.MembersOf(group.Id).Count);
    }

    [Fact]
    public async Task Batch_Inner500OnIdempotentRequest_IsRetried()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(100);
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}")).ToList();
        graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.ServerError) { Scope = SandboxFaultScope.BatchItem });

        var results = await Task.WhenAll(users.Select(u => graph.Directory.ApplyAsync(new DisableAccount(u.Id), default)));

        Assert.All(results, r => Assert.Equal(ChangeStatus.Applied, r.Status));
        Assert.All(users, u => Assert.False(graph.Sandbox.User(u.Id)!.AccountEnabled));
        Assert.Equal(3, graph.Sandbox.Changes.AccountsDisabled);
    }

    [Fact]
    public async Task Batch_WholeBatchUnavailable_EachCallerGetsTransientFailure()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(100);
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}")).ToList();
        graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Unavailable) { Scope = SandboxFaultScope.BatchCall, RetryAfter = TimeSpan.FromSeconds(300) });

        var outcomes = await Task.WhenAll(users.Select(async u =>
        {
            try
            {
                await graph.Directory.ApplyAsync(new RevokeSessions(u.Id), default);
                return null;
            }
            catch (TransientConnectorException ex)
            {
                return ex;
            }
        }));

        Assert.Equal(2, outcomes.Count(e => e is { Status: 503 }));
        Assert.All(outcomes.Where(e => e is not null), e => Assert.Equal(TimeSpan.FromSeconds(300), e!.RetryAfter));
    }

    [Fact]
    public async Task Batch_ReadsAndWritesOfManyTickets_ShareBatches()
    {
        // Batch from the first concurrent request: the count then does not depend on how fast this machine starts the burst.
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(20);
        var group = graph.AddGroup("Leavers 2026");
        var users = Enumerable.Range(0, 60).Select(i => graph.AddUser($"User {i:00}", u => u.EmployeeId = $"E{i:000}")).ToList();
        foreach (var u in users)
        {
            graph.Sandbox.AddMember(group.Id, u.Id);
        }

        graph.Sandbox.ClearLog();

        var leavers = await Task.WhenAll(users.Select(async u =>
        {
            var person = Assert.Single(await graph.Directory.FindUsersAsync(PersonKey.EmployeeId, u.EmployeeId!, default));
            var held = await graph.Directory.GetMembershipsAsync(person.Id, MembershipScope.Direct, default);
            var disabled = await graph.Directory.ApplyAsync(new DisableAccount(person.Id), default);
            var removed = await Task.WhenAll(held.Select(m => graph.Directory.ApplyAsync(new RemoveMember(m.Id, person.Id, m.DisplayName ?? ""), default)));
            return (disabled, removed);
        }));

        Assert.All(leavers, l => Assert.Equal(ChangeStatus.Applied, l.disabled.Status));
        Assert.Empty(graph.Sandbox.MembersOf(group.Id));
        Assert.Equal(240, graph.Sandbox.Requests.Count);
        Assert.True(graph.Sandbox.HttpCalls.Count <= 24, $"{graph.Sandbox.HttpCalls.Count} HTTP calls for 240 requests");
    }

    [Fact]
    public async Task Batch_CallerCancelsWhileQueued_OnlyThatCallerIsCancelled()
    {
        using var graph = GraphHarness.Start(AlwaysBatch);
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(300);
        var group = graph.AddGroup("Finance readers");
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}")).ToList();
        using var cancel = new CancellationTokenSource();

        var first = graph.Directory.ApplyAsync(new AddMember(group.Id, users[0].Id, "Finance readers"), default);
        var cancelled = graph.Directory.ApplyAsync(new AddMember(group.Id, users[1].Id, "Finance readers"), cancel.Token);
        var third = graph.Directory.ApplyAsync(new AddMember(group.Id, users[2].Id, "Finance readers"), default);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(ChangeStatus.Applied, (await first).Status);
        Assert.Equal(ChangeStatus.Applied, (await third).Status);
        Assert.False(graph.Sandbox.IsMember(group.Id, users[1].Id));
    }

    /// <summary>Small tests of the batch mechanics: batch whatever is concurrent, whatever the rate.</summary>
    private static void AlwaysBatch(Dictionary<string, string?> settings) => settings["Graph:BatchingMinRate"] = "0";

    [Fact]
    public async Task Quiet_ParallelRequestsOfOneTicket_GoOutAtOnceAsPlainCalls()
    {
        using var graph = GraphHarness.Start();
        graph.Sandbox.Latency = TimeSpan.FromMilliseconds(300);
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}", u => u.EmployeeId = $"Q{i}")).ToList();
        graph.Sandbox.ClearLog();

        var found = await Task.WhenAll(users.Select(u => graph.Directory.FindUsersAsync(PersonKey.EmployeeId, u.EmployeeId!, default)));

        Assert.All(found, f => Assert.Single(f));
        Assert.Equal(3, graph.Sandbox.HttpCalls.Count);
        Assert.DoesNotContain(graph.Sandbox.HttpCalls, c => c.Path.EndsWith("$batch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quiet_OneTicketAfterAnotherAtAHighRate_StillGoesOutAsPlainCalls()
    {
        // Above Graph:BatchingMinRate (set low, so any machine gets there), but never more than three requests in the
        // air: batching would only make each wave wait.
        using var graph = GraphHarness.Start(settings => settings["Graph:BatchingMinRate"] = "10");
        var users = Enumerable.Range(0, 3).Select(i => graph.AddUser($"User {i}", u => u.EmployeeId = $"R{i}")).ToList();
        graph.Sandbox.ClearLog();

        for (var wave = 0; wave < 40; wave++)
        {
            await Task.WhenAll(users.Select(u => graph.Directory.FindUsersAsync(PersonKey.EmployeeId, u.EmployeeId!, default)));
        }

        Assert.Equal(120, graph.Sandbox.HttpCalls.Count);
        Assert.DoesNotContain(graph.Sandbox.HttpCalls, c => c.Path.EndsWith("$batch", StringComparison.Ordinal));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), "condition not met within 5 s");
    }
}
