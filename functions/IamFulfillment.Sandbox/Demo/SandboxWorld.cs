using System.Globalization;
using IamFulfillment.Sandbox.Graph;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;
using IamFulfillment.Sandbox.Storage;

namespace IamFulfillment.Sandbox.Demo;

public sealed class SandboxWorldOptions
{
    /// <summary>Use the Azurite named by <c>IAMF_TEST_STORAGE</c> when set (CI starts one), else start a private one.</summary>
    public bool ShareAzurite { get; init; } = true;

    /// <summary>Keep Azurite's data on disk so it survives a stop/restart (storage outage tests).</summary>
    public bool PersistentAzurite { get; init; }

    public bool WithJira { get; init; } = true;

    /// <summary>Fixed latency added to every ServiceNow, Jira and Graph call.</summary>
    public TimeSpan Latency { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// Everything the service talks to, on loopback: Azurite, the ServiceNow, Jira and Graph sandboxes, seeded with the
/// demo organisation; and the settings a host needs to run against them. The demo, the end-to-end tests and the
/// benchmark all start from here.
/// </summary>
public sealed class SandboxWorld : IAsyncDisposable
{
    private SandboxWorld(AzuriteRunner azurite, ServiceNowSandbox serviceNow, GraphSandbox graph, JiraSandbox? jira, DemoOrganisation demo)
    {
        Azurite = azurite;
        ServiceNow = serviceNow;
        Graph = graph;
        Jira = jira;
        Demo = demo;
    }

    public AzuriteRunner Azurite { get; }
    public ServiceNowSandbox ServiceNow { get; }
    public GraphSandbox Graph { get; }
    public JiraSandbox? Jira { get; }
    public DemoOrganisation Demo { get; }

    /// <summary>Sets the fixed latency of every sandbox call.</summary>
    public TimeSpan Latency
    {
        set
        {
            ServiceNow.Latency = value;
            Graph.Latency = value;
            if (Jira is not null)
            {
                Jira.Latency = value;
            }
        }
    }

    public static async Task<SandboxWorld> StartAsync(SandboxWorldOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SandboxWorldOptions();
        var azurite = options.PersistentAzurite || !options.ShareAzurite
            ? await AzuriteRunner.StartAsync(options.PersistentAzurite, cancellationToken)
            : await AzuriteRunner.StartOrShareAsync(cancellationToken);
        var serviceNow = new ServiceNowSandbox(new ServiceNowSandboxOptions { Time = options.Time });
        var graph = GraphSandbox.Start(new GraphSandboxOptions { Time = options.Time });
        var jira = options.WithJira ? new JiraSandbox(new JiraSandboxOptions { Time = options.Time }) : null;
        var demo = DemoOrganisation.Seed(serviceNow, graph, jira);
        var world = new SandboxWorld(azurite, serviceNow, graph, jira, demo) { Latency = options.Latency };
        return world;
    }

    /// <summary>
    /// The host's settings against this world. Each call names its own tables and queue, so several hosts (or
    /// tests) can share one Azurite without seeing each other's work.
    /// </summary>
    public Dictionary<string, string?> HostSettings(string? policyPath = null, string? isolation = null)
    {
        var settings = Demo.HostSettings(Azurite.ConnectionString, policyPath);
        var suffix = isolation ?? Guid.NewGuid().ToString("N")[..10];
        settings["Storage:TablePrefix"] = "t" + suffix;
        settings["Storage:QueueName"] = "q-" + suffix;
        return settings;
    }

    /// <summary>The settings as environment variables (<c>Section__Key</c>), for a host started as its own process.</summary>
    public static Dictionary<string, string> AsEnvironment(IReadOnlyDictionary<string, string?> settings) =>
        settings.Where(s => s.Value is not null).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!, StringComparer.Ordinal);

    /// <summary>Writes a variant of the demo policy (e.g. with the safety brake raised for a bulk test) and returns its path.</summary>
    public static string WritePolicyVariant(Func<string, string> edit)
    {
        var path = Path.Combine(Path.GetTempPath(), $"iamf-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, edit(File.ReadAllText(DemoOrganisation.PolicyPath)));
        return path;
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        ServiceNow.Dispose();
        Graph.Dispose();
        Jira?.Dispose();
        await Azurite.DisposeAsync();
    }
}
