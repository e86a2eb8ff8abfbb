using System.Net;
using System.Text.Json;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Testing;
using Xunit.Abstractions;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// A dedicated Azurite (data on disk) stopped in the middle of a run and started again on the same ports and folder:
/// while it is down, intake answers 503 with Retry-After and a message saying storage is unavailable, and queues
/// nothing; once it is back, the deliveries the senders retry are accepted, the tickets that were in flight when it
/// stopped finish, and nothing is lost or done twice.
/// </summary>
public sealed class StorageOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StorageStoppedMidRunAndRestarted_IntakeAnswers503WhileDown_AndEveryTicketCompletesOnceAfterwards()
    {
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { PersistentAzurite = true });
        world.Latency = TimeSpan.FromMilliseconds(20);
        await using var host = await HostUnderTest.StartAsync(world, s => FaultSettings.ForFaults(s));
        using var probe = new StorageProbe(Settings.Of(host));

        // In flight when storage goes: accepted, some still being processed.
        var before = Enumerable.Range(0, 6).Select(i => i % 2 == 0
            ? Tickets.ServiceNowGrant(world, Tickets.NewEmployee(world))
            : Tickets.JiraGrant(world, Tickets.NewEmployee(world))).ToList();
        // One of them surely mid-way: its directory change held on the wire until storage is back.
        var heldTicket = Tickets.ServiceNowGrant(world, Tickets.NewEmployee(world), "engineering-wiki");
        before.Add(heldTicket);
        var held = world.Graph.Holds.Add("POST", $"/groups/{DemoOrganisation.Groups["engineering-wiki"]}/members/$ref", Sandbox.HoldPoint.AfterHandling);
        foreach (var ticket in before)
        {
            using var accepted = await Tickets.SendAsync(host.Http, Tickets.Delivery(world, ticket));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await world.Azurite.StopAsync(graceful: true);

        // Arriving while storage is down: refused with 503, to be sent again by the ITSM.
        var during = Enumerable.Range(0, 4).Select(i => i % 2 == 0
            ? Tickets.ServiceNowGrant(world, Tickets.NewEmployee(world))
            : Tickets.JiraGrant(world, Tickets.NewEmployee(world))).ToList();
        var refused = new List<object>();
        foreach (var ticket in during)
        {
            var delivery = Tickets.Delivery(world, ticket);
            using var response = await Tickets.SendAsync(host.Http, delivery);
            var text = await response.Content.ReadAsStringAsync();
            output.WriteLine($"while down: {(int)response.StatusCode} Retry-After {response.Headers.RetryAfter} {text}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            using var json = JsonDocument.Parse(text);
            Assert.Contains("Storage is unavailable", json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
            refused.Add(delivery);
        }

        using (var health = await host.Http.GetAsync("/api/health"))
        {
            output.WriteLine($"health while down: {(int)health.StatusCode}");
        }

        held.Release(); // the change lands while storage is still down: recording it fails and is retried
        await Task.Delay(2000);
        await world.Azurite.RestartAsync();

        // The senders retry the refused deliveries (the same delivery ids): now accepted.
        foreach (var delivery in refused)
        {
            using var response = await Tickets.SendAsync(host.Http, delivery);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                foreach (var r in host.Logs.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).TakeLast(10))
                {
                    output.WriteLine($"{r.Level} {r.Category}: {r.Message} {r.Exception?.Message}");
                }
            }

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var all = before.Concat(during).ToList();
        try
        {
            await ExactlyOnce.WaitForAllAsync(probe.Store, probe.QueuedAsync, all, TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            output.WriteLine(await Diagnostics.DescribeAsync(probe.Store, all, host.Logs));
            throw;
        }

        await ExactlyOnce.AssertAsync(world, probe.Store, all, strictAudit: false);
        Assert.Equal(all.Count, world.Graph.Changes.MembershipsAdded);
    }
}
