using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Functions;
using IamFulfillment.Hosting;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>The Azure Functions trigger classes, invoked directly with the services the Functions host would give them.</summary>
public sealed class FunctionsTriggerTests
{
    private static readonly Dictionary<string, string> Grant = new()
    {
        ["entitlements"] = "finance-reports-read",
        ["business_justification"] = "Monthly close reporting for the EMEA ledger",
    };

    [Fact]
    public async Task WebhookTriggerQueues_AndQueueTriggerFulfils()
    {
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = false });
        await using var functions = await FunctionsApp.StartAsync(world);
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", Grant);
        world.Demo.ServiceNowApproval(ritm.SysId, "grace");

        var status = await functions.PostServiceNowAsync(world.ServiceNow.BuildWebhook(ritm.SysId));
        var message = Assert.Single(await functions.Queue.ReceiveAsync(32, TimeSpan.FromSeconds(30), CancellationToken.None));
        await functions.WorkItem.RunAsync(message.RawText, new FakeFunctionContext(message.DequeueCount), CancellationToken.None);

        Assert.Equal(StatusCodes.Status202Accepted, status);
        var state = await functions.Store.GetAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), CancellationToken.None);
        Assert.Equal(Outcome.Fulfilled, state!.Outcome);
        Assert.True(world.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], world.Demo["ada"].GraphId));
    }

    [Fact]
    public async Task QueueTrigger_LastDeliveryFails_EscalatesWithTheFailureInsteadOfPoisoning()
    {
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = false });
        await using var functions = await FunctionsApp.StartAsync(world);
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", Grant);
        world.Demo.ServiceNowApproval(ritm.SysId, "grace");
        world.Graph.Faults.Next(new SandboxFault(SandboxFaultKind.ServerError) { PathContains = "/members/$ref" }, times: 100);

        var item = new WorkItem { System = TicketSystemKind.ServiceNow, TicketKey = ritm.SysId, DeliveryId = "d-1", ReceivedAt = TimeProvider.System.GetUtcNow() };
        await functions.WorkItem.RunAsync(QueueMessage(item), new FakeFunctionContext(dequeueCount: 5), CancellationToken.None);

        var state = await functions.Store.GetAsync(item.Ticket, CancellationToken.None);
        Assert.Equal(Outcome.Escalated, state!.Outcome);
        Assert.Equal(Rules.ProcessingFailure, state.Rule);
        var item2 = world.ServiceNow.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal(DemoOrganisation.AssignmentGroups["IAM On-call"], item2["assignment_group"]);
        var note = Assert.Single(world.ServiceNow.JournalOf(ritm.SysId), j => j.Element == "work_notes").Value;
        Assert.Contains("could not complete this request after 5 attempt(s)", note, StringComparison.Ordinal);
        Assert.Contains("Graph", note, StringComparison.Ordinal);
        Assert.False(world.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], world.Demo["ada"].GraphId));
    }

    [Fact]
    public async Task QueueTrigger_UnreadableMessage_IsDroppedWithoutThrowing()
    {
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = false });
        await using var functions = await FunctionsApp.StartAsync(world);

        await functions.WorkItem.RunAsync("{not json", new FakeFunctionContext(1), CancellationToken.None);

        Assert.Contains(functions.Logs, l => l.Contains("not a work item", StringComparison.Ordinal));
    }

    private static string QueueMessage(WorkItem item) =>
        System.Text.Json.JsonSerializer.Serialize(new { system = item.System.ToString(), ticketKey = item.TicketKey, deliveryId = item.DeliveryId, receivedAt = item.ReceivedAt, attempt = item.Attempt, reason = item.Reason });

    /// <summary>The Functions app's services, as its Program builds them, around the trigger classes.</summary>
    private sealed class FunctionsApp : IAsyncDisposable
    {
        private readonly ServiceProvider _services;
        private readonly List<string> _logs;

        private FunctionsApp(ServiceProvider services, List<string> logs)
        {
            _services = services;
            _logs = logs;
        }

        public IReadOnlyList<string> Logs
        {
            get
            {
                lock (_logs)
                {
                    return [.. _logs];
                }
            }
        }

        public ITicketStore Store => _services.GetRequiredService<ITicketStore>();

        public QueueWorkSource Queue => _services.GetRequiredService<QueueWorkSource>();

        public WorkItemFunction WorkItem => new(_services.GetRequiredService<WorkItemHandler>(), _services.GetRequiredService<ProcessingSettings>(), _services.GetRequiredService<ILogger<WorkItemFunction>>());

        public static async Task<FunctionsApp> StartAsync(SandboxWorld world)
        {
            var settings = world.HostSettings();
            settings["Processing:MaxDeliveries"] = "5";
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var logs = new List<string>();
            var services = new ServiceCollection()
                .AddLogging(b => b.AddProvider(new ListLoggerProvider(logs)))
                .AddIamFulfillment(configuration, HostKind.Functions)
                .BuildServiceProvider();
            await services.GetRequiredService<IStorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
            return new FunctionsApp(services, logs);
        }

        public async Task<int> PostServiceNowAsync(Sandbox.ServiceNow.SandboxWebhook webhook)
        {
            var context = new DefaultHttpContext { RequestServices = _services };
            context.Request.Method = "POST";
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(webhook.Body);
            context.Request.ContentLength = webhook.Body.Length;
            foreach (var (name, value) in webhook.Headers)
            {
                context.Request.Headers[name] = value;
            }

            context.Response.Body = new MemoryStream();
            var function = new WebhookFunctions(_services.GetRequiredService<WebhookIntake>(), _services.GetRequiredService<IntakeOptions>());
            var result = await function.ServiceNowAsync(context.Request, CancellationToken.None);
            await result.ExecuteAsync(context);
            return context.Response.StatusCode;
        }

        public ValueTask DisposeAsync() => _services.DisposeAsync();
    }

    private sealed class FakeFunctionContext(long dequeueCount) : FunctionContext
    {
        public override string InvocationId { get; } = Guid.NewGuid().ToString();
        public override string FunctionId { get; } = "ProcessWorkItem";
        public override TraceContext TraceContext => throw new NotSupportedException();
        public override BindingContext BindingContext { get; } = new FakeBindingContext(dequeueCount);
        public override RetryContext RetryContext => throw new NotSupportedException();
        public override IServiceProvider InstanceServices { get; set; } = new ServiceCollection().BuildServiceProvider();
        public override FunctionDefinition FunctionDefinition => throw new NotSupportedException();
        public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
        public override IInvocationFeatures Features => throw new NotSupportedException();
    }

    private sealed class FakeBindingContext(long dequeueCount) : BindingContext
    {
        public override IReadOnlyDictionary<string, object?> BindingData { get; } = new Dictionary<string, object?> { ["DequeueCount"] = dequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
