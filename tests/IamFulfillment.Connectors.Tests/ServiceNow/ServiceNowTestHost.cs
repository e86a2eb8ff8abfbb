using System.Collections.Concurrent;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>A sandbox instance plus the connector wired exactly as a host wires it (AddServiceNow), with logs captured.</summary>
internal sealed class ServiceNowTestHost : IDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private ServiceNowTestHost(ServiceNowSandbox sandbox, ServiceProvider services, IReadOnlyDictionary<string, string?> settings)
    {
        Sandbox = sandbox;
        Services = services;
        Settings = settings;
    }

    public ServiceNowSandbox Sandbox { get; }
    public ServiceProvider Services { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public ServiceNowTicketSystem TicketSystem => Services.GetRequiredService<ServiceNowTicketSystem>();
    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    /// <summary>Starts a sandbox and the connector against it (Basic auth as the sandbox's integration user, fast retries).</summary>
    public static ServiceNowTestHost Start(
        Action<Dictionary<string, string?>>? configure = null,
        TimeProvider? connectorTime = null,
        ServiceNowSandboxOptions? sandboxOptions = null)
    {
        var sandbox = new ServiceNowSandbox(sandboxOptions ?? new ServiceNowSandboxOptions { Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0) });
        var settings = new Dictionary<string, string?>
        {
            ["ServiceNow:InstanceUrl"] = sandbox.Url,
            ["ServiceNow:Username"] = sandbox.Options.IntegrationUserName,
            ["ServiceNow:Password"] = sandbox.Options.IntegrationPassword,
            ["ServiceNow:Retry:BaseDelay"] = "00:00:00.001",
            ["ServiceNow:Retry:MaxDelay"] = "00:00:00.005",
        };
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        if (connectorTime is not null)
        {
            services.AddSingleton(connectorTime);
        }

        services.AddServiceNow(configuration);
        return new ServiceNowTestHost(sandbox, services.BuildServiceProvider(), settings);
    }

    public Org SeedOrg()
    {
        var s = Sandbox;
        var carol = s.AddUser("carol", "Carol Manager", "carol@contoso.com", "E300");
        var org = new Org(
            Alice: s.AddUser("alice", "Alice Requester", "alice@contoso.com", "E100"),
            Bob: s.AddUser("bob", "Bob Target", "bob@contoso.com", "E200", carol),
            Carol: carol,
            Dave: s.AddUser("dave", "Dave Delegate", "dave@contoso.com", "E400"),
            Erin: s.AddUser("erin", "Erin Service Desk", "erin@contoso.com", "E500"),
            CatalogItem: s.AddCatalogItem("Access Request"),
            Group: s.AddGroup("IAM Privileged"));
        return org;
    }

    /// <summary>An access grant for Bob, opened by Alice, with the default variable names.</summary>
    public SeededRitm SeedGrant(Org org, IReadOnlyDictionary<string, string>? extra = null, string state = "1", IReadOnlyDictionary<string, int>? types = null)
    {
        var variables = new Dictionary<string, string>
        {
            ["request_type"] = "AccessGrant",
            ["requested_for"] = org.Bob,
            ["entitlements"] = "grp-finance-read",
            ["business_justification"] = "Quarter close reporting needs read access",
            ["end_date"] = "2026-12-31",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            variables[k] = v;
        }

        var variableTypes = new Dictionary<string, int> { ["requested_for"] = 8, ["verified_by"] = 8, ["end_date"] = 9 };
        foreach (var (k, v) in types ?? new Dictionary<string, int>())
        {
            variableTypes[k] = v;
        }

        return Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = org.CatalogItem,
            RequestedFor = org.Bob,
            OpenedBy = org.Alice,
            State = state,
            ShortDescription = "Access Request for Bob",
            Variables = variables,
            VariableTypes = variableTypes,
        });
    }

    public void Dispose()
    {
        Services.Dispose();
        Sandbox.Dispose();
    }

    internal sealed record Org(string Alice, string Bob, string Carol, string Dave, string Erin, string CatalogItem, string Group);
}

/// <summary>Fires every timer at once but records the wait that was asked for: proves "never sooner" without waiting.</summary>
internal sealed class InstantTimeProvider : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _waits = new();

    public IReadOnlyList<TimeSpan> Waits => [.. _waits];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime == Timeout.InfiniteTimeSpan)
        {
            return base.CreateTimer(callback, state, dueTime, period);
        }

        _waits.Enqueue(dueTime);
        return base.CreateTimer(callback, state, TimeSpan.Zero, period);
    }
}
