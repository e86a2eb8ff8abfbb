using System.Net;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;
using IamFulfillment.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// A checkpoint that must precede the rest of a plan is stored while the next stage runs (README, "Performance"). When
/// that save fails, the stage already under way must not be lost: the run fails with what it did recorded on its way
/// out, and the retry neither repeats it nor leaves the ticket unfinished.
/// </summary>
public sealed class CheckpointFailureTests
{
    [Fact]
    public async Task MfaReset_CheckpointAfterThePassFailsWhileTheMethodsAreRemoved_TheRetryFinishesWithoutASecondPass()
    {
        await using var world = await SandboxWorld.StartAsync();
        var failing = new FailsOneSave(s => s.Phase == RoundPhase.Acting && s.StepsDone.Any(step => step.StartsWith("tap:", StringComparison.Ordinal)));
        await using var host = await HostUnderTest.StartAsync(world,
            services: s => s.AddSingleton<ITicketStore>(sp => failing.Around(sp.GetRequiredService<TableTicketStore>())));
        var ticket = Tickets.JiraMfaReset(world, Tickets.NewEmployee(world));
        var person = world.Demo[ticket.Person].GraphId;
        world.Graph.AddAuthenticationMethod(person, SandboxMethodTypes.MicrosoftAuthenticator, "Old phone");
        var removal = world.Graph.Holds.Add("DELETE", $"/users/{person}/authentication/");

        using (var accepted = await Tickets.SendAsync(host.Http, Tickets.Delivery(world, ticket)))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        // The method removal is on the wire when the checkpoint that records the pass is refused.
        await removal.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await failing.Refused.WaitAsync(TimeSpan.FromSeconds(30));
        removal.Release();
        await host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Single(world.Graph.TapsIssued(person));
        Assert.Single(world.Graph.Outbox);
        Assert.Equal(1, world.Graph.Changes.MethodsRemoved);
        Assert.Single(await host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.Failure);
        await ExactlyOnce.AssertAsync(world, host.Store, [ticket]);
    }

    /// <summary>A ticket store whose first save matching a condition fails as storage would (the rest pass through).</summary>
    private sealed class FailsOneSave(Func<TicketState, bool> matches)
    {
        private readonly TaskCompletionSource _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Refused => _refused.Task;

        public ITicketStore Around(ITicketStore inner) => new Store(inner, this);

        private bool TakeFault(TicketState state) => !_refused.Task.IsCompleted && matches(state) && _refused.TrySetResult();

        private sealed class Store(ITicketStore inner, FailsOneSave owner) : ITicketStore
        {
            public Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string holder, TimeSpan duration, CancellationToken cancellationToken) =>
                inner.TryAcquireAsync(ticket, holder, duration, cancellationToken);

            public Task<LeaseAttempt> TryAcquireObservedAsync(TicketRef ticket, TicketState? observed, string holder, TimeSpan duration, CancellationToken cancellationToken) =>
                inner.TryAcquireObservedAsync(ticket, observed, holder, duration, cancellationToken);

            public async Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
            {
                if (owner.TakeFault(state))
                {
                    await Task.Yield();
                    throw new Azure.RequestFailedException(503, "The storage service is unavailable (test).");
                }

                return await inner.SaveAsync(state, events, cancellationToken);
            }

            public Task<IReadOnlyList<AuditEvent>> ReadTrailAsync(TicketRef ticket, CancellationToken cancellationToken) => inner.ReadTrailAsync(ticket, cancellationToken);

            public Task<TicketState?> GetAsync(TicketRef ticket, CancellationToken cancellationToken) => inner.GetAsync(ticket, cancellationToken);

            public IAsyncEnumerable<AuditEvent> QueryEventsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
                inner.QueryEventsAsync(from, to, cancellationToken);
        }
    }
}
