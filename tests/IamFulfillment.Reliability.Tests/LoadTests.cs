using System.Diagnostics;
using System.Net;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Testing;
using Xunit.Abstractions;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// A burst of webhooks against the standalone host as its own process, on loopback, with its default processing
/// settings, against the sandboxes: every delivery is acknowledged and every ticket reaches its final state exactly
/// once. Prints intake and end-to-end latency percentiles and throughput (figures only; nothing asserts on time).
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BurstOfWebhooksAgainstTheStandaloneHost_EveryTicketReachesItsFinalStateOnce()
    {
        await using var world = await SandboxWorld.StartAsync();
        var settings = world.HostSettings();
        settings["Logging:LogLevel:Default"] = "Warning";
        using var probe = new StorageProbe(settings);
        var count = Heavy.Scale(200, 1000);
        var tickets = Enumerable.Range(0, count).Select(i => (i % 10) switch
        {
            < 4 => Tickets.ServiceNowGrant(world, Tickets.NewEmployee(world)),
            < 8 => Tickets.JiraGrant(world, Tickets.NewEmployee(world)),
            8 => Tickets.ServiceNowNeedsInfo(world, Tickets.NewEmployee(world)),
            _ => Tickets.ServiceNowPrivileged(world, Tickets.NewEmployee(world)),
        }).ToList();
        var deliveries = tickets.Select(t => Tickets.Delivery(world, t)).ToList();

        await using var host = await HostProcess.StartAsync(settings);
        var sentAt = new DateTimeOffset[count];
        var intake = new TimeSpan[count];
        var answers = new HttpStatusCode[count];
        var next = -1;
        var burst = Stopwatch.StartNew();
        var started = TimeProvider.System.GetUtcNow();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                sentAt[i] = TimeProvider.System.GetUtcNow();
                var one = Stopwatch.StartNew();
                using var response = await Tickets.SendAsync(host.Http, deliveries[i]);
                intake[i] = one.Elapsed;
                answers[i] = response.StatusCode;
            }
        }));
        var sent = burst.Elapsed;

        try
        {
            await ExactlyOnce.WaitForAllAsync(probe.Store, probe.QueuedAsync, tickets, TimeSpan.FromSeconds(Heavy.Scale(120, 400)));
        }
        catch (TimeoutException)
        {
            output.WriteLine(await Diagnostics.DescribeAsync(probe.Store, tickets.Take(5)));
            output.WriteLine(host.Output);
            throw;
        }

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a));
        var finished = new TimeSpan[count];
        for (var i = 0; i < count; i++)
        {
            var trail = await probe.TrailAsync(tickets[i].Ref);
            finished[i] = trail.Max(e => e.At) - sentAt[i];
        }

        var last = sentAt.Zip(finished, (s, f) => s + f).Max();
        var span = last - started;
        output.WriteLine($"{count} webhooks ({tickets.Count(t => t.Expected == Outcome.Fulfilled)} grants, the rest needs-info and privileged) in a burst of 32 at a time, host process with default settings, sandbox latency 0:");
        output.WriteLine($"  intake: all {count} acknowledged in {sent.TotalSeconds:0.0} s ({count / sent.TotalSeconds:0} per s); answer time {Percentiles(intake)}");
        output.WriteLine($"  end to end (sent -> write-back done): {Percentiles(finished)}");
        output.WriteLine($"  throughput: {count} tickets finished {span.TotalSeconds:0.0} s after the first was sent = {count / span.TotalSeconds:0.0} tickets per s");

        await ExactlyOnce.AssertAsync(world, probe.Store, tickets);
        Assert.Equal(tickets.Count(t => t.GroupId is not null), world.Graph.Changes.MembershipsAdded);
    }

    private static string Percentiles(TimeSpan[] values)
    {
        var sorted = values.Order().ToArray();
        string At(double p) => $"{sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)].TotalMilliseconds:0} ms";
        return $"p50 {At(0.50)}, p90 {At(0.90)}, p99 {At(0.99)}, max {sorted[^1].TotalMilliseconds:0} ms";
    }
}
