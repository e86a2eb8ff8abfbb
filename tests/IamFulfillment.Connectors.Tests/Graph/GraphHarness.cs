using IamFulfillment.Connectors.Graph;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.Graph;

/// <summary>
/// A Graph sandbox plus the connector wired exactly as the hosts wire it (<see cref="GraphServiceCollectionExtensions.AddGraphDirectory"/>),
/// with every log record collected.
/// </summary>
internal sealed class GraphHarness : IDisposable
{
    public const string MailSenderUpn = "it-desk@contoso.test";

    private GraphHarness(GraphSandbox sandbox, ServiceProvider services)
    {
        Sandbox = sandbox;
        Services = services;
    }

    public GraphSandbox Sandbox { get; }
    public ServiceProvider Services { get; }
    public IDirectory Directory => Services.GetRequiredService<IDirectory>();
    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    /// <summary>Starts a sandbox (with the service's mailbox user) and the connector pointed at it.</summary>
    public static GraphHarness Start(Action<Dictionary<string, string?>>? configure = null, TimeProvider? time = null, GraphSandboxOptions? sandboxOptions = null)
    {
        var sandbox = GraphSandbox.Start(sandboxOptions);
        sandbox.AddUser(new SandboxUser { UserPrincipalName = MailSenderUpn, Mail = MailSenderUpn, DisplayName = "IT service desk" });
        var settings = Settings(sandbox.BaseUrl);
        configure?.Invoke(settings);
        return new GraphHarness(sandbox, BuildServices(settings, time));
    }

    public static Dictionary<string, string?> Settings(string baseUrl) => new()
    {
        ["Graph:BaseUrl"] = baseUrl,
        ["Graph:AuthMode"] = "None",
        ["Graph:MailSender"] = MailSenderUpn,
        ["Graph:Retry:BaseDelay"] = "00:00:00.010",
        ["Graph:Retry:MaxDelay"] = "00:00:00.050",
    };

    public static ServiceProvider BuildServices(Dictionary<string, string?> settings, TimeProvider? time = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace));
        services.AddFakeLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddGraphDirectory(configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public SandboxUser AddUser(string name, Action<SandboxUser>? configure = null)
    {
        var upn = name.ToLowerInvariant().Replace(' ', '.') + "@contoso.test";
        var user = new SandboxUser { UserPrincipalName = upn, Mail = upn, DisplayName = name };
        configure?.Invoke(user);
        return Sandbox.AddUser(user);
    }

    public SandboxGroup AddGroup(string name, Action<SandboxGroup>? configure = null)
    {
        var group = new SandboxGroup { DisplayName = name };
        configure?.Invoke(group);
        return Sandbox.AddGroup(group);
    }

    /// <summary>Every log message and structured value, for "never logged" assertions.</summary>
    public string AllLogText() => string.Join("\n", Logs.GetSnapshot().Select(r =>
        r.Message + " " + string.Join(" ", r.StructuredState?.Select(kv => kv.Key + "=" + kv.Value) ?? []) + " " + r.Exception));

    public void Dispose()
    {
        Services.Dispose();
        Sandbox.Dispose();
    }
}
