using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Core.Model;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>
/// Real-shaped Table API answers (files under Fixtures/servicenow) served as they are: the connector reads them
/// even in the default representation, where references come back as {"link","value"} objects.
/// </summary>
public class ServiceNowFixtureTests
{
    private const string RitmId = "5a7c0e1f2b3d4c5e6f708192a3b4c5d6";
    private const string RequestId = "9e8d7c6b5a4938271605f4e3d2c1b0a9";

    public ServiceNowFixtureTests() => WireMockStartup.SkipPluginScan();

    [Fact]
    public async Task Read_DefaultRepresentationWithReferenceLinks_ReadsTheValues()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/api/now/table/*").UsingGet())
            .AtPriority(10)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"result":[]}"""));
        server.Given(Request.Create().WithPath($"/api/now/table/sc_req_item/{RitmId}").UsingGet())
            .AtPriority(1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Fixture("ritm_default_representation.json")));
        server.Given(Request.Create().WithPath("/api/now/table/sysapproval_approver").WithParam("sysparm_query", $"sysapproval={RitmId}^ORdocument_id={RitmId}^ORDERBYsys_created_on").UsingGet())
            .AtPriority(1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Fixture("sysapproval_approver_list.json")));
        using var provider = Provider(server.Url!);

        var ticket = await provider.GetRequiredService<ServiceNowTicketSystem>().ReadAsync(RitmId, default);

        Assert.Equal("RITM0010042", ticket.Number);
        Assert.Equal(TicketStatus.InProgress, ticket.Status);
        Assert.Equal("0f1e2d3c4b5a69788796a5b4c3d2e1f0", ticket.CatalogItem);
        Assert.Equal(new ItsmPerson("62826bf03710200044e0bfc8bcbe5df1", "Alice Requester", "alice@contoso.com", "E100", "alice"), ticket.OpenedBy);
        Assert.Equal("bob@contoso.com", ticket.People[RequestFields.RequestedFor].Email);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 9, 15, 31, TimeSpan.Zero), ticket.UpdatedAt);
        var approval = Assert.Single(ticket.Approvals);
        Assert.Equal("46d44a23a9fe19810012d100cca80666", approval.Approver.ItsmId);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 9, 14, 57, TimeSpan.Zero), approval.DecidedAt);
        Assert.Null(approval.ActedBy);

        // The parent request's approvals were asked for too (wave 2), by the request's sys_id from the link object.
        Assert.Contains(server.LogEntries, e => e.RequestMessage != null && e.RequestMessage.RawQuery.Contains($"sysapproval%3D{RequestId}", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Read_LoginPageInsteadOfJson_IsTransient()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().UsingAnyMethod())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/html").WithBody("<html><body>Your instance is hibernating</body></html>"));
        using var provider = Provider(server.Url!);

        var ex = await Assert.ThrowsAsync<Core.Ports.TransientConnectorException>(() => provider.GetRequiredService<ServiceNowTicketSystem>().ReadAsync(RitmId, default));

        Assert.Equal(200, ex.Status);
        Assert.DoesNotContain("hibernating", ex.Message, StringComparison.Ordinal);
    }

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "servicenow", name));

    private static ServiceProvider Provider(string url)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ServiceNow:InstanceUrl"] = url,
            ["ServiceNow:Username"] = "iamf.integration",
            ["ServiceNow:Password"] = "p",
            ["ServiceNow:Retry:BaseDelay"] = "00:00:00.001",
        }).Build();
        return new ServiceCollection().AddLogging().AddServiceNow(configuration).BuildServiceProvider();
    }
}
