using IamFulfillment.Host;
using IamFulfillment.Hosting;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>Start-up validation: a host that cannot work does not start, and every error names the key to fix.</summary>
public sealed class ConfigurationTests : IAsyncLifetime
{
    private SandboxWorld _world = null!;

    public async Task InitializeAsync() => _world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = false });

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Theory]
    [InlineData("Policy:Path", null, "Policy:Path is required")]
    [InlineData("ServiceNow:WebhookSecret", "not base64!", "ServiceNow:WebhookSecret must be base64")]
    [InlineData("Processing:MaxAttempts", "0", "Processing:MaxAttempts")]
    [InlineData("Processing:ReconciliationLookBackMinutes", "20", "Processing:ReconciliationLookBackMinutes (20) must be at least twice the time between reconciliation sweeps (15 minutes)")]
    [InlineData("Processing:ReconciliationMinutes", "0.0001", "Processing:ReconciliationMinutes (0.0001) must be 0 (off) or at least 0.01")]
    [InlineData("Intake:MaxBodyBytes", "12", "Intake:MaxBodyBytes must be a whole number between")]
    [InlineData("ServiceNow:PersonKey", "Nickname", "ServiceNow:PersonKey: 'Nickname' is not a person key")]
    public void InvalidSetting_FailsAtBuildNamingTheKey(string key, string? value, string expected)
    {
        var settings = _world.HostSettings();
        settings[key] = value;

        var error = Assert.Throws<ConfigurationInvalidException>(() => StandaloneHost.Build([], b => b.Configuration.AddInMemoryCollection(settings)));

        Assert.Contains(error.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void JiraRequestTypeIdsUnset_IntakeTakesTheRequestTypesTheFieldMapNames()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jira:RequestTypes:10"] = "AccessGrant",
            ["Jira:RequestTypes:12"] = "Leaver",
        }).Build();

        var (options, errors) = ConfigurationReader.Intake(configuration);

        Assert.Empty(errors);
        Assert.Equal(["10", "12"], options.JiraRequestTypeIds.Order());
    }

    [Fact]
    public void JiraRequestTypeIdsSet_TakesOnlyThoseIds()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jira:RequestTypes:10"] = "AccessGrant",
            ["Jira:RequestTypeIds"] = "10, 99",
        }).Build();

        Assert.Equal(["10", "99"], ConfigurationReader.Intake(configuration).Options.JiraRequestTypeIds);
    }

    [Fact]
    public void NoTicketSystem_FailsNamingTheKeys()
    {
        var settings = _world.HostSettings();
        settings["ServiceNow:InstanceUrl"] = null;

        var error = Assert.Throws<ConfigurationInvalidException>(() => StandaloneHost.Build([], b => b.Configuration.AddInMemoryCollection(settings)));

        Assert.Contains(error.Errors, e => e.Contains("ServiceNow:InstanceUrl or Jira:BaseUrl", StringComparison.Ordinal));
    }

    [Fact]
    public void InvalidPolicy_ListsEveryPolicyErrorWithItsLocation()
    {
        var path = SandboxWorld.WritePolicyVariant(json => json
            .Replace("\"tier\": \"standard\"", "\"tier\": \"normal\"", StringComparison.Ordinal)
            .Replace("\"dryRun\": false", "\"dryRun\": false, \"colour\": \"blue\"", StringComparison.Ordinal));
        var settings = _world.HostSettings(policyPath: path);

        var error = Assert.Throws<ConfigurationInvalidException>(() => StandaloneHost.Build([], b => b.Configuration.AddInMemoryCollection(settings)));

        Assert.Contains(error.Errors, e => e.Contains("unknown tier 'normal'", StringComparison.Ordinal) && e.Contains("line", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("unknown key 'colour'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("AzureWebJobsStorage", "AzureWebJobsStorage is required")]
    [InlineData("ServiceNow:Password", "ServiceNow:")]
    public async Task MissingConnectorSetting_FailsAtStartNamingTheKey(string key, string expected)
    {
        var settings = _world.HostSettings();
        settings[key] = null;
        settings["urls"] = "http://127.0.0.1:0";

        var app = StandaloneHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains(expected, StringComparison.Ordinal));
        await app.DisposeAsync();
    }

    [Fact]
    public async Task UnauthenticatedGraphToARemoteUrl_IsRefusedAtStart()
    {
        var settings = _world.HostSettings();
        settings["Graph:BaseUrl"] = "https://graph.microsoft.com/v1.0";
        settings["Graph:AuthMode"] = "None";
        settings["urls"] = "http://127.0.0.1:0";

        var app = StandaloneHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains("Graph:AuthMode", StringComparison.Ordinal));
        await app.DisposeAsync();
    }
}
