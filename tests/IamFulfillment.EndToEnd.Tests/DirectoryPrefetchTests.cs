using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// A run's directory reads do not wait for its lease: as soon as the ticket is read, the people it names are looked up
/// and the memberships the decision needs are read, while the lease is still being taken. Each is read once.
/// </summary>
public sealed class DirectoryPrefetchTests(DemoWorld f) : IClassFixture<DemoWorld>
{
    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task Leaver_TheTargetsAndTheRequestersMemberships_AreReadBeforeTheRunHasItsLease_AndOnlyOnce(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var hedy = f.Demo["hedy"];
        var ticket = Desk.For(itsm, f.World).Leaver(dennis, requester: hedy.Key, employeeNumber: f.World.Account(dennis).EmployeeId);
        string[] reads = [$"/users/{dennis.GraphId}/transitiveMemberOf", $"/users/{dennis.GraphId}/memberOf", $"/users/{hedy.GraphId}/transitiveMemberOf"];

        var (state, before, after) = await RunWithTheLeaseHeldUntilReadAsync(ticket, reads, reads);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.All(reads, read => Assert.Equal(1, after[read] - before[read]));
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task MfaReset_TheVerifiersMemberships_AreReadBeforeTheRunHasItsLease_AndOnlyOnce_AndTheRequestersNot(Itsm itsm)
    {
        // Opened by one service-desk agent, verified by another: the decision reads the verifier's memberships only.
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var (hedy, lynn) = (f.Demo["hedy"], f.Demo["lynn"]);
        var ticket = Desk.For(itsm, f.World).MfaReset(ada, requester: hedy.Key, verifiedBy: lynn.Key);
        string[] reads = [$"/users/{ada.GraphId}/transitiveMemberOf", $"/users/{lynn.GraphId}/transitiveMemberOf", $"/users/{hedy.GraphId}/transitiveMemberOf"];

        var (state, before, after) = await RunWithTheLeaseHeldUntilReadAsync(ticket, reads[..2], reads);

        Assert.Equal(RoundPhase.Completed, state.Phase);
        Assert.All(reads[..2], read => Assert.Equal(1, after[read] - before[read]));
        Assert.Equal(before[reads[2]], after[reads[2]]);
    }

    [Fact]
    public async Task JiraDeliveryThatChangesNothing_OnAnOpenTicket_LooksUpNoOneInTheDirectory()
    {
        // The first run asks for the missing verification (the ticket stays open); a second delivery with nothing
        // changed (say, a comment) is skipped by the run, and the read's prefetch sees that from the state row.
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var ticket = Desk.For(Itsm.Jira, f.World).MfaReset(ada, verifiedBy: null);
        Assert.Equal(Outcome.NeedsInfo, (await ticket.RunAsync(f.Host)).Outcome);
        f.World.Jira!.AddComment(ticket.Number, f.Demo["lynn"].JiraAccountId, "Any news on this one?");

        // The first run's reads that its decision did not wait for (an approver's look-up) may still be on their way
        // on a loaded machine: counted from when the directory has been quiet for a while.
        var before = await QuietDirectoryAsync();
        var decided = (await f.Host.Store.GetAsync(ticket.Ref, CancellationToken.None))!.AuditSequence;
        await ticket.RunAsync(f.Host);

        var second = (await f.Host.TrailAsync(ticket.Ref)).Where(e => e.Sequence > decided).ToList();
        Assert.Contains(second, e => e.Kind == AuditKinds.Skipped);
        Assert.DoesNotContain(second, e => e.Kind == AuditKinds.RoundCompleted);
        Assert.DoesNotContain(f.World.Graph.Requests.Skip(before), r => r.Method == "GET" && r.Path.Contains("/users", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Waits until no directory request has come for a second; returns how many came so far.</summary>
    private async Task<int> QuietDirectoryAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var count = f.World.Graph.Requests.Count;
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1000);
            var now = f.World.Graph.Requests.Count;
            if (now == count)
            {
                return count;
            }

            count = now;
        }

        throw new TimeoutException("The directory never went quiet.");
    }

    /// <summary>
    /// Sends the ticket to a host whose lease requests wait until every one of <paramref name="awaited"/> has reached
    /// the directory (failing if they do not come within 30 s), then lets the run finish; counts
    /// <paramref name="counted"/> before and after.
    /// </summary>
    private async Task<(TicketState State, Dictionary<string, int> Before, Dictionary<string, int> After)> RunWithTheLeaseHeldUntilReadAsync(
        DeskTicket ticket, string[] awaited, string[] counted)
    {
        await using var host = await HostUnderTest.StartAsync(f.World, services: s => s.WrapTicketStore(inner => new HeldLease(inner)));
        var lease = host.App.Services.GetRequiredService<HeldLease>();
        var before = Count(counted);
        bool NotYet(string read) => Count([read])[read] == before[read];

        var run = ticket.RunAsync(host);
        try
        {
            await lease.Asked.WaitAsync(TimeSpan.FromSeconds(30));
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (awaited.Any(NotYet))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "Not read while the lease was being taken: " + string.Join(", ", awaited.Where(NotYet)));
                await Task.Delay(10);
            }

            Assert.False(run.IsCompleted); // nothing but reads before the lease
        }
        finally
        {
            lease.Release();
        }

        return (await run, before, Count(counted));
    }

    /// <summary>Directory reads so far, by path (alone or inside a batch).</summary>
    private Dictionary<string, int> Count(string[] reads) =>
        reads.ToDictionary(read => read, read => f.World.Graph.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith(read, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Holds every lease request of its host until released.</summary>
    private sealed class HeldLease(ITicketStore inner) : DelegatingTicketStore(inner)
    {
        private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Asked => _asked.Task;

        public void Release() => _released.TrySetResult();

        public override async Task<LeaseAttempt> TryAcquireObservedAsync(TicketRef ticket, TicketState? observed, string owner, TimeSpan duration, CancellationToken cancellationToken)
        {
            await HoldAsync();
            return await base.TryAcquireObservedAsync(ticket, observed, owner, duration, cancellationToken);
        }

        public override async Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken)
        {
            await HoldAsync();
            return await base.TryAcquireAsync(ticket, owner, duration, cancellationToken);
        }

        private Task HoldAsync()
        {
            _asked.TrySetResult();
            return _released.Task;
        }
    }
}
