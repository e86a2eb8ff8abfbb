using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// While a ticket runs, the consumer keeps its queue message hidden by renewing it; a renewal that fails once (storage
/// briefly unreachable) must not end the renewals, or the message reappears mid-run and is delivered a second time.
/// </summary>
public sealed class QueueKeepAliveTests
{
    [Fact]
    public async Task LongRun_WhoseFirstRenewalFails_KeepsItsMessageHidden_AndIsDeliveredOnce()
    {
        await TestStorage.EnsureSharedAsync();
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = false });
        var faults = new FailingRenewals(failures: 1);
        await using var host = await HostUnderTest.StartAsync(world, settings =>
        {
            settings["Processing:VisibilityTimeoutSeconds"] = "5"; // the least allowed: renewed every 2.5 s
            settings["Processing:Concurrency"] = "2"; // a free slot, to receive the message if it reappears
        }, services: s => s.AddSingleton(sp => new QueueWorkSource(RenewalsFailingClient(sp, faults))));
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);

        // The write-back is held past the visibility timeout: only renewals keep the message hidden meanwhile.
        var hold = world.ServiceNow.Holds.Add("PATCH", ritm.SysId, HoldPoint.BeforeHandling);
        using (var accepted = await host.SendAsync(world.ServiceNow.BuildWebhook(ritm.SysId)))
        {
            Assert.True(accepted.IsSuccessStatusCode);
        }

        await hold.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(7));
        hold.Release();
        var state = await host.WaitForRoundAsync(ticket);

        Assert.Equal(1, faults.Failed);
        Assert.Equal(RoundPhase.Completed, state.Phase);
        Assert.Equal(0, faults.Received); // handed over by intake and kept hidden throughout: never received again
        Assert.Single(await host.TrailAsync(ticket), e => e.Kind == AuditKinds.ProcessingStarted);
    }

    /// <summary>The host's own queue client (as its configuration names it), with renewals failing on cue and no SDK retries.</summary>
    private static QueueClient RenewalsFailingClient(IServiceProvider services, FailingRenewals faults)
    {
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        options.Retry.MaxRetries = 0;
        options.AddPolicy(faults, HttpPipelinePosition.PerCall);
        return new QueueClient(storage.ConnectionString, storage.QueueName, options);
    }

    /// <summary>
    /// Fails the first <c>failures</c> visibility renewals (PUT on a message) as a busy server would, and counts the
    /// receives that returned a message.
    /// </summary>
    private sealed class FailingRenewals(int failures) : HttpPipelinePolicy
    {
        private int _renewals;
        private int _received;

        public int Failed => Math.Min(Volatile.Read(ref _renewals), failures);

        public int Received => Volatile.Read(ref _received);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The consumer's client is used asynchronously.");

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Put && message.Request.Uri.Path.Contains("/messages/", StringComparison.Ordinal)
                && Interlocked.Increment(ref _renewals) <= failures)
            {
                throw new Azure.RequestFailedException(503, "Server busy (injected by the test).");
            }

            return message.Request.Method == RequestMethod.Get ? CountReceivedAsync(message, pipeline) : ProcessNextAsync(message, pipeline);
        }

        private async ValueTask CountReceivedAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Response.Content.ToString().Contains("<MessageId>", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _received);
            }
        }
    }
}
