using IamFulfillment.Connectors.Http;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

public class ServiceNowOptionsTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["ServiceNow:InstanceUrl"] = "https://acme.service-now.com",
        ["ServiceNow:Username"] = "iamf.integration",
        ["ServiceNow:Password"] = "p",
    };

    [Fact]
    public void Options_Defaults_AreTheDocumentedOnes()
    {
        var options = Resolve(Valid);

        Assert.Equal("iamf.integration", options.EffectiveIntegrationUserName);
        Assert.Equal("Email", options.PersonKey);
        Assert.Equal(PersonKey.Email, options.DirectoryPersonKey);
        Assert.Equal("3", options.States.Fulfilled);
        Assert.Equal("-5", options.States.NeedsInfo);
        Assert.Equal("4", options.States.Rejected);
        Assert.Equal("", options.States.Escalated);
        Assert.Equal("3,4,7", options.ClosedStates);
        Assert.Equal("-5", options.AwaitingStates);
        Assert.Equal("1", options.OpenStates);
        Assert.Equal(300, options.MaxSignatureAgeSeconds);
        Assert.Equal(30, options.TimeoutSeconds);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Retry.AttemptTimeout);
        Assert.Equal(14, options.FieldMap.Count);
        Assert.Equal("business_justification", options.FieldMap["Justification"]);
        Assert.Empty(options.CatalogItems);
    }

    [Fact]
    public void Options_RetrySectionAndTimeout_AreBound()
    {
        var options = Resolve(With(Valid, ("ServiceNow:TimeoutSeconds", "12"), ("ServiceNow:Retry:MaxAttempts", "6"), ("ServiceNow:PersonKey", "EmployeeNumber")));

        Assert.Equal(TimeSpan.FromSeconds(12), options.Retry.AttemptTimeout);
        Assert.Equal(6, options.Retry.MaxAttempts);
        Assert.Equal(PersonKey.EmployeeId, options.DirectoryPersonKey);

        var explicitTimeout = Resolve(With(Valid, ("ServiceNow:TimeoutSeconds", "12"), ("ServiceNow:Retry:AttemptTimeout", "00:00:05")));
        Assert.Equal(TimeSpan.FromSeconds(5), explicitTimeout.Retry.AttemptTimeout);
    }

    [Fact]
    public void Options_FieldMapOverride_KeepsTheOtherDefaults()
    {
        var options = Resolve(With(Valid, ("ServiceNow:FieldMap:Entitlements", "u_groups")));

        Assert.Equal("u_groups", options.FieldMap["Entitlements"]);
        Assert.Equal("requested_for", options.FieldMap["RequestedFor"]);
    }

    [Theory]
    [InlineData("ServiceNow:InstanceUrl", null, "ServiceNow:InstanceUrl is required.")]
    [InlineData("ServiceNow:InstanceUrl", "acme.service-now.com", "ServiceNow:InstanceUrl must be an absolute http(s) URL")]
    [InlineData("ServiceNow:InstanceUrl", "http://acme.service-now.com", "ServiceNow:InstanceUrl must use https")]
    [InlineData("ServiceNow:Password", null, "ServiceNow:Password is required when ServiceNow:Username is set.")]
    [InlineData("ServiceNow:PersonKey", "Upn", "ServiceNow:PersonKey must be Email or EmployeeNumber.")]
    [InlineData("ServiceNow:ReconciliationQuery", "active=true^NQactive=false", "ServiceNow:ReconciliationQuery must be a plain encoded query")]
    [InlineData("ServiceNow:ReconciliationQuery", "cat_item=javascript:gs.getUserID()", "ServiceNow:ReconciliationQuery must be a plain encoded query")]
    [InlineData("ServiceNow:FieldMap:Department", "dept", "ServiceNow:FieldMap:Department is not a known field")]
    [InlineData("ServiceNow:FieldMap:Entitlements", "u_groups^ORactive=true", "ServiceNow:FieldMap:Entitlements must be a catalog variable name")]
    [InlineData("ServiceNow:CatalogItems:Laptop", "Hardware", "ServiceNow:CatalogItems:Laptop must name a request type")]
    [InlineData("ServiceNow:States:Fulfilled", "closed", "ServiceNow:States:Fulfilled must be a state value")]
    [InlineData("ServiceNow:ClosedStates", "3,closed", "ServiceNow:ClosedStates must be a comma-separated list of state values")]
    [InlineData("ServiceNow:WebhookSecret", "not base64!", "ServiceNow:WebhookSecret must be base64")]
    [InlineData("ServiceNow:IntegrationUserName", "iamf^ORx", "ServiceNow:IntegrationUserName may hold only")]
    [InlineData("ServiceNow:TimeoutSeconds", "0", "ServiceNow:TimeoutSeconds must be between 1 and 600.")]
    [InlineData("ServiceNow:MaxSignatureAgeSeconds", "-1", "ServiceNow:MaxSignatureAgeSeconds must be between 1 and 86400.")]
    public void Options_Invalid_FailsWithAMessageNamingTheKey(string key, string? value, string expected)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(With(Valid, (key, value))));

        // DataAnnotations failures wrap the message ("... with the error: '<message>'"); the key is named either way.
        Assert.Contains(ex.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Options_NoCredentials_NamesBothPairs()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(new() { ["ServiceNow:InstanceUrl"] = "https://acme.service-now.com" }));

        Assert.Contains(ex.Failures, f => f.Contains("ServiceNow:Username and ServiceNow:Password", StringComparison.Ordinal)
            && f.Contains("ServiceNow:ClientId and ServiceNow:ClientSecret", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_BothCredentialPairs_IsRefused()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(With(Valid, ("ServiceNow:ClientId", "c"), ("ServiceNow:ClientSecret", "s"))));

        Assert.Contains(ex.Failures, f => f.StartsWith("Configure either ServiceNow:Username and ServiceNow:Password", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_OAuthWithoutIntegrationUserName_IsRefused()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ServiceNow:InstanceUrl"] = "https://acme.service-now.com",
            ["ServiceNow:ClientId"] = "c",
            ["ServiceNow:ClientSecret"] = "s",
        };

        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(settings));

        Assert.Contains(ex.Failures, f => f.StartsWith("ServiceNow:IntegrationUserName is required with OAuth", StringComparison.Ordinal));
        settings["ServiceNow:IntegrationUserName"] = "iamf.oauth";
        Assert.True(Resolve(settings).UsesOAuth);
    }

    [Fact]
    public void Options_LoopbackHttp_IsAllowedForTestServers()
    {
        Assert.Equal("http://127.0.0.1:9999", Resolve(With(Valid, ("ServiceNow:InstanceUrl", "http://127.0.0.1:9999"))).InstanceUrl);
    }

    [Fact]
    public void AddServiceNow_ValidatesAtStartUp()
    {
        using var provider = Build(With(Valid, ("ServiceNow:InstanceUrl", null)));

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(ex.Failures, f => f.Contains("ServiceNow:InstanceUrl is required.", StringComparison.Ordinal));
    }

    [Fact]
    public void AddServiceNow_RegistersTheTicketSystemAsITicketSystemAndAsItself()
    {
        using var provider = Build(Valid);

        var asPort = Assert.Single(provider.GetServices<ITicketSystem>());
        Assert.Same(provider.GetRequiredService<ServiceNowTicketSystem>(), asPort);
        Assert.Equal(Core.Model.TicketSystemKind.ServiceNow, asPort.Kind);
        Assert.NotNull(provider.GetRequiredService<IHttpClientFactory>().CreateClient(ServiceNowClient.HttpClientName));
    }

    [Fact]
    public void AddServiceNow_RetryOptionsBeyondDefaults_ReachTheRetryLayer()
    {
        var options = Resolve(With(Valid, ("ServiceNow:Retry:MaxRetryAfter", "00:00:20"), ("ServiceNow:Retry:BaseDelay", "00:00:01")));

        Assert.Equal(TimeSpan.FromSeconds(20), options.Retry.MaxRetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Retry.BaseDelay);
        Assert.Equal(new RetryOptions().MaxDelay, options.Retry.MaxDelay);
    }

    private static ServiceNowOptions Resolve(Dictionary<string, string?> settings)
    {
        using var provider = Build(settings);
        return provider.GetRequiredService<IOptions<ServiceNowOptions>>().Value;
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddServiceNow(configuration).BuildServiceProvider();
    }

    private static Dictionary<string, string?> With(Dictionary<string, string?> settings, params (string Key, string? Value)[] changes)
    {
        var copy = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                copy.Remove(key);
            }
            else
            {
                copy[key] = value;
            }
        }

        return copy;
    }
}
