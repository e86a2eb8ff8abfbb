using System.Net.Http.Headers;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Host;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;
using IamFulfillment.Sandbox.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Testing;

/// <summary>
/// The standalone host, in this process, on a free loopback port, against a <see cref="SandboxWorld"/>: webhooks go
/// through the real HTTP route, the work item through the real queue in Azurite.
/// </summary>
public sealed class HostUnderTest : IAsyncDisposable
{
    private HostUnderTest(WebApplication app, SandboxWorld world, Uri address)
    {
        App = app;
        World = world;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }
    public SandboxWorld World { get; }
    public HttpClient Http { get; }
    public DemoOrganisation Demo => World.Demo;
    public FakeLogCollector Logs => App.Services.GetRequiredService<FakeLogCollector>();
    public ITicketStore Store => App.Services.GetRequiredService<ITicketStore>();

    /// <summary>Starts a host against <paramref name="world"/> with the demo settings, changed by <paramref name="configure"/>.</summary>
    public static async Task<HostUnderTest> StartAsync(SandboxWorld world, Action<Dictionary<string, string?>>? configure = null, string? policyPath = null)
    {
        var settings = world.HostSettings(policyPath);
        settings["Processing:LeaseSeconds"] = "10";
        settings["Processing:RetryDelaySeconds"] = "0.2";
        settings["Processing:PollIntervalMilliseconds"] = "100";
        settings["Processing:VisibilityTimeoutSeconds"] = "10";
        configure?.Invoke(settings);
        var port = AzuriteRunner.FreePort();
        settings["urls"] = $"http://127.0.0.1:{port}";
        var app = StandaloneHost.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddFakeLogging();
        });
        await app.StartAsync();
        return new HostUnderTest(app, world, new Uri($"http://127.0.0.1:{port}"));
    }

    public async Task<HttpResponseMessage> SendAsync(SandboxWebhook webhook)
    {
        using var request = webhook.ToRequest(Http.BaseAddress!);
        return await Http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> SendAsync(JiraWebhookDelivery delivery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/jira") { Content = new ByteArrayContent(delivery.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in delivery.Headers.Where(h => !h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Waits until the ticket's current round has finished (or is waiting/scheduled) and returns its state.</summary>
    public Task<TicketState> WaitForRoundAsync(TicketRef ticket, TimeSpan? timeout = null, Func<TicketState, bool>? until = null) =>
        TicketWaits.WaitForRoundAsync(Store, ticket, timeout, until);

    public Task<IReadOnlyList<AuditEvent>> TrailAsync(TicketRef ticket) => Store.ReadTrailAsync(ticket, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
