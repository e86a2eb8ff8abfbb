using System.Net;
using IamFulfillment.Core.Audit;
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
        await using var host = await HostUnderTest.StartAsync(world, services: s => s.WrapTicketStore(inner => new FailsOneSave(
            inner, (state, _) => state.Phase == RoundPhase.Acting && state.StepsDone.Any(step => step.StartsWith("tap:", StringComparison.Ordinal)))));
        var failing = host.App.Services.GetRequiredService<FailsOneSave>();
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
}
