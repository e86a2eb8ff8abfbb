using IamFulfillment.Connectors.Jira;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraOptionsTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Jira:BaseUrl"] = "https://acme.atlassian.net",
        ["Jira:Email"] = "iam-bot@acme.example",
        ["Jira:ApiToken"] = "token",
        ["Jira:IntegrationAccountId"] = "712020:0b6f1d6e-7d8c-4f0e-9f51-3a2b1c0d9e8f",
        ["Jira:FieldMap:Entitlements"] = "customfield_10050",
        ["Jira:RequestTypes:25"] = "AccessGrant",
    };

    [Fact]
    public void Validate_CompleteSettings_StartsWithDefaults()
    {
        using var provider = Build(Valid);

        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<JiraOptions>>().Value;

        Assert.Equal("Waiting for customer", options.AwaitingStatuses);
        Assert.Equal("Resolve", options.Transitions.Fulfilled);
        Assert.Equal("Waiting for customer", options.Transitions.NeedsInfo);
        Assert.Equal("Decline", options.Transitions.Rejected);
        Assert.Equal("", options.Transitions.Escalated);
        Assert.Equal(30, options.TimeoutSeconds);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Retry.AttemptTimeout);
    }

    [Theory]
    [InlineData("Jira:ApiToken", "Jira:ApiToken is required when Jira:BaseUrl is set")]
    [InlineData("Jira:Email", "Jira:Email is required when Jira:BaseUrl is set")]
    [InlineData("Jira:IntegrationAccountId", "Jira:IntegrationAccountId is required when Jira:BaseUrl is set")]
    [InlineData("Jira:BaseUrl", "Jira:BaseUrl is required")]
    public void Validate_MissingKey_NamesIt(string key, string message)
    {
        var settings = new Dictionary<string, string?>(Valid);
        settings.Remove(key);

        var error = Assert.Throws<OptionsValidationException>(() => Start(settings));

        Assert.Contains(error.Failures, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Jira:FieldMap:Entitlemnts", "customfield_10050", "Jira:FieldMap:Entitlemnts is not a known field")]
    [InlineData("Jira:FieldMap:EndDate", "Due date", "Jira:FieldMap:EndDate must be a Jira field id")]
    [InlineData("Jira:RequestTypes:25", "Grant", "Jira:RequestTypes:25 must name a request type")]
    [InlineData("Jira:RequestTypes:access", "AccessGrant", "Jira:RequestTypes:access must be keyed by the numeric JSM request type id")]
    [InlineData("Jira:BaseUrl", "http://acme.atlassian.net", "Jira:BaseUrl must use https")]
    [InlineData("Jira:BaseUrl", "acme.atlassian.net", "Jira:BaseUrl must be an absolute http(s) URL")]
    [InlineData("Jira:IntegrationAccountId", "bob@acme.example", "Jira:IntegrationAccountId must be an Atlassian account id")]
    [InlineData("Jira:TimeoutSeconds", "0", "Jira:TimeoutSeconds must be between 1 and 600")]
    [InlineData("Jira:Retry:MaxAttempts", "0", "Jira:Retry:MaxAttempts must be at least 1")]
    public void Validate_BadValue_NamesTheKey(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>(Valid) { [key] = value };

        var error = Assert.Throws<OptionsValidationException>(() => Start(settings));

        Assert.Contains(error.Failures, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LoopbackHttp_IsAcceptedForTestServers()
    {
        var settings = new Dictionary<string, string?>(Valid) { ["Jira:BaseUrl"] = "http://127.0.0.1:8080" };

        Start(settings);
    }

    [Fact]
    public void Validate_IntakeKeysOfTheSection_AreLeftToIntake()
    {
        var settings = new Dictionary<string, string?>(Valid)
        {
            ["Jira:WebhookSecret"] = "s",
            ["Jira:ServiceDeskIds"] = "3",
            ["Jira:RequestTypeIds"] = "25,26",
            ["Jira:RequestTypeField"] = "customfield_10010",
            ["Jira:MaxDeliveryAgeHours"] = "48",
            ["Jira:PersonKey"] = "Email,AtlassianAccountId",
        };

        Start(settings);
    }

    [Fact]
    public void AddJira_RegistersOneTicketSystemOfKindJira()
    {
        using var provider = Build(Valid);

        var system = Assert.Single(provider.GetServices<IamFulfillment.Core.Ports.ITicketSystem>());
        Assert.Equal(IamFulfillment.Core.Model.TicketSystemKind.Jira, system.Kind);
    }

    private static void Start(Dictionary<string, string?> settings)
    {
        using var provider = Build(settings);
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddJira(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }
}
