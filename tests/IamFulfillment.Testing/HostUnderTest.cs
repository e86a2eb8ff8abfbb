using System.Diagnostics;
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
    /// <param name="services">Registrations made before the host's own (which add theirs only if none is there), e.g. a port wrapped to fail on cue.</param>
    public static async Task<HostUnderTest> StartAsync(SandboxWorld world, Action<Dictionary<string, string?>>? configure = null, string? policyPath = null, TimeProvider? clock = null,
        Action<IServiceCollection>? services = null)
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
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }

            services?.Invoke(builder.Services);
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

    /// <summary>Waits until the stored state says <paramref name="until"/> (lease held or not) and returns it.</summary>
    public Task<TicketState?> WaitForStateAsync(TicketRef ticket, Func<TicketState, bool> until, TimeSpan? timeout = null) =>
        TicketWaits.WaitForStateAsync(Store, ticket, until, timeout);

    /// <summary>Waits until the ticket's current round has finished (or is waiting/scheduled) and returns its state.</summary>
    public Task<TicketState> WaitForRoundAsync(TicketRef ticket, TimeSpan? timeout = null, Func<TicketState, bool>? until = null) =>
        TicketWaits.WaitForRoundAsync(Store, ticket, timeout, until);

    public Task<IReadOnlyList<AuditEvent>> TrailAsync(TicketRef ticket) => Store.ReadTrailAsync(ticket, CancellationToken.None);

    /// <summary>
    /// Sends one webhook and waits until the run it causes has settled: the ticket's trail has grown and ends with a
    /// round completed, a skip, a wait or a schedule (a run deferred by a busy lease is waited through).
    /// </summary>
    public async Task<TicketState> DeliverAsync(TicketRef ticket, Func<Task<HttpResponseMessage>> send, TimeSpan? timeout = null)
    {
        var before = (await Store.GetAsync(ticket, CancellationToken.None))?.AuditSequence ?? 0;
        using var answer = await send();
        if (answer.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"The webhook for {ticket} was answered {(int)answer.StatusCode} {answer.StatusCode}, not 202 Accepted.");
        }

        return await WaitForSettledAsync(ticket, before, timeout);
    }

    /// <summary>Waits for a run of the ticket that wrote audit events after <paramref name="afterSequence"/> to settle.</summary>
    public async Task<TicketState> WaitForSettledAsync(TicketRef ticket, long afterSequence, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        TicketState? last = null;
        while (clock.Elapsed < limit)
        {
            last = await Store.GetAsync(ticket, CancellationToken.None);
            if (last is { LeaseOwner: null } && last.AuditSequence > afterSequence)
            {
                var trail = await TrailAsync(ticket);
                if (trail.LastOrDefault(e => e.Sequence > afterSequence) is { Kind: AuditKinds.RoundCompleted or AuditKinds.Skipped or AuditKinds.Waiting or AuditKinds.Scheduled })
                {
                    return last;
                }
            }

            await Task.Delay(40);
        }

        throw new TimeoutException($"{ticket} did not settle within {limit.TotalSeconds:0} s (phase {last?.Phase}, outcome {last?.Outcome}).");
    }

    /// <summary>Waits until the ticket's trail holds an event the predicate accepts (work the host does on its own, such as a retry or a scheduled run).</summary>
    public async Task<AuditEvent> WaitForEventAsync(TicketRef ticket, Func<AuditEvent, bool> match, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var state = await Store.GetAsync(ticket, CancellationToken.None);
            if (state is { LeaseOwner: null } && (await TrailAsync(ticket)).FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{ticket}: the expected audit event did not appear within {limit.TotalSeconds:0} s.");
    }

    /// <summary>Every log line the host wrote, message and structured values, for "this never appears in the logs" checks.</summary>
    public IEnumerable<string> LogText() =>
        Logs.GetSnapshot().SelectMany(r => new[] { r.Message, r.Exception?.ToString() }
            .Concat(r.StructuredState?.Select(kv => kv.Value) ?? []))
            .OfType<string>();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
