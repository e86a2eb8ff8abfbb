using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphFindUsersTests : IDisposable
{
    private readonly GraphHarness _graph = GraphHarness.Start(settings =>
        settings["Graph:AtlassianAccountIdAttribute"] = "onPremisesExtensionAttributes/extensionAttribute5");

    public void Dispose() => _graph.Dispose();

    [Fact]
    public async Task FindUsers_ByEmail_ReturnsUserWithManagerInOneCall()
    {
        var manager = _graph.AddUser("Maria Manager");
        var alice = _graph.AddUser("Alice Example", u =>
        {
            u.ManagerId = manager.Id;
            u.EmployeeId = "E100";
            u.Department = "Finance";
            u.JobTitle = "Accountant";
            u.EmployeeType = "Employee";
        });
        _graph.Sandbox.ClearLog();

        var found = await _graph.Directory.FindUsersAsync(PersonKey.Email, "alice.example@contoso.test", default);

        var user = Assert.Single(found);
        Assert.Equal(alice.Id, user.Id);
        Assert.Equal("alice.example@contoso.test", user.UserPrincipalName);
        Assert.Equal("E100", user.EmployeeId);
        Assert.Equal("Finance", user.Department);
        Assert.Equal("Accountant", user.JobTitle);
        Assert.Equal("Employee", user.EmployeeType);
        Assert.Equal("Member", user.UserType);
        Assert.True(user.AccountEnabled);
        Assert.Equal(manager.Id, user.Manager?.Id);
        Assert.Equal("maria.manager@contoso.test", user.Manager?.Mail);
        Assert.Single(_graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task FindUsers_ByEmail_MatchesUserPrincipalNameToo()
    {
        var bob = _graph.AddUser("Bob Example", u => u.Mail = "robert@contoso.test");

        var found = await _graph.Directory.FindUsersAsync(PersonKey.Email, "bob.example@contoso.test", default);

        Assert.Equal(bob.Id, Assert.Single(found).Id);
    }

    [Fact]
    public async Task FindUsers_TwoMatches_ReturnsBoth()
    {
        var first = _graph.AddUser("Chris One", u => u.EmployeeId = "E200");
        var second = _graph.AddUser("Chris Two", u => u.EmployeeId = "E200");

        var found = await _graph.Directory.FindUsersAsync(PersonKey.EmployeeId, "E200", default);

        Assert.Equal(new[] { first.Id, second.Id }.Order(), found.Select(u => u.Id).Order());
    }

    [Fact]
    public async Task FindUsers_QuoteInValue_IsEscaped()
    {
        var dara = _graph.AddUser("Dara OBrien", u => u.Mail = "dara.o'brien@contoso.test");
        _graph.Sandbox.ClearLog();

        var found = await _graph.Directory.FindUsersAsync(PersonKey.Email, "dara.o'brien@contoso.test", default);

        Assert.Equal(dara.Id, Assert.Single(found).Id);
        var query = Uri.UnescapeDataString(Assert.Single(_graph.Sandbox.Requests).Query);
        Assert.Contains("mail eq 'dara.o''brien@contoso.test'", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindUsers_FilterInjectionAttempt_IsTreatedAsLiteral()
    {
        _graph.AddUser("Alice Example");

        var found = await _graph.Directory.FindUsersAsync(PersonKey.EmployeeId, "x' or mail eq 'alice.example@contoso.test", default);

        Assert.Empty(found);
    }

    [Theory]
    [InlineData("alice\n@contoso.test")]
    [InlineData("alice\u0000@contoso.test")]
    [InlineData("   ")]
    public async Task FindUsers_ControlCharactersOrBlank_ReturnsEmptyWithoutCallingGraph(string value)
    {
        _graph.AddUser("Alice Example");

        var found = await _graph.Directory.FindUsersAsync(PersonKey.Email, value, default);

        Assert.Empty(found);
        Assert.Empty(_graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task FindUsers_ValueLongerThan256_ReturnsEmptyWithoutCallingGraph()
    {
        var found = await _graph.Directory.FindUsersAsync(PersonKey.EmployeeId, new string('7', 257), default);

        Assert.Empty(found);
        Assert.Empty(_graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task FindUsers_NoMatch_ReturnsEmpty() =>
        Assert.Empty(await _graph.Directory.FindUsersAsync(PersonKey.Email, "nobody@contoso.test", default));

    [Fact]
    public async Task FindUsers_ObjectId_ReturnsUserWithManager()
    {
        var manager = _graph.AddUser("Maria Manager");
        var erin = _graph.AddUser("Erin Example", u =>
        {
            u.ManagerId = manager.Id;
            u.AccountEnabled = false;
            u.OnPremisesSyncEnabled = true;
            u.UserType = "Guest";
        });

        var user = Assert.Single(await _graph.Directory.FindUsersAsync(PersonKey.ObjectId, erin.Id, default));

        Assert.Equal(erin.Id, user.Id);
        Assert.False(user.AccountEnabled);
        Assert.True(user.OnPremisesSynced);
        Assert.True(user.IsGuest);
        Assert.Equal(manager.Id, user.Manager?.Id);
    }

    [Fact]
    public async Task FindUsers_ObjectIdNotFound_ReturnsEmpty() =>
        Assert.Empty(await _graph.Directory.FindUsersAsync(PersonKey.ObjectId, Guid.NewGuid().ToString(), default));

    [Fact]
    public async Task FindUsers_ObjectIdNotAGuid_ReturnsEmptyWithoutCallingGraph()
    {
        Assert.Empty(await _graph.Directory.FindUsersAsync(PersonKey.ObjectId, "../groups", default));
        Assert.Empty(_graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task FindUsers_AtlassianExtensionAttribute_UsesAdvancedQueryAndReadsManagerSeparately()
    {
        var manager = _graph.AddUser("Maria Manager");
        var frank = _graph.AddUser("Frank Example", u =>
        {
            u.ManagerId = manager.Id;
            u.OnPremisesExtensionAttributes["extensionAttribute5"] = "557058:abc-123";
        });
        _graph.Sandbox.ClearLog();

        var user = Assert.Single(await _graph.Directory.FindUsersAsync(PersonKey.AtlassianAccountId, "557058:abc-123", default));

        Assert.Equal(frank.Id, user.Id);
        Assert.Equal(manager.Id, user.Manager?.Id);

        // The sandbox refuses extension attributes without ConsistencyLevel + $count, and $expand with them, as Graph does.
        Assert.All(_graph.Sandbox.Requests, r => Assert.Equal(200, r.Status));
        Assert.Contains(_graph.Sandbox.Requests, r => r.Path.EndsWith("/manager", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FindUsers_AtlassianWithoutManager_ReturnsUserWithoutManager()
    {
        var gina = _graph.AddUser("Gina Example", u => u.OnPremisesExtensionAttributes["extensionAttribute5"] = "acc-1");

        var user = Assert.Single(await _graph.Directory.FindUsersAsync(PersonKey.AtlassianAccountId, "acc-1", default));

        Assert.Equal(gina.Id, user.Id);
        Assert.Null(user.Manager);
    }

    [Fact]
    public async Task FindUsers_AtlassianAttributeNotConfigured_ThrowsNamingTheKey()
    {
        using var graph = GraphHarness.Start();

        var error = await Assert.ThrowsAsync<ConnectorException>(() => graph.Directory.FindUsersAsync(PersonKey.AtlassianAccountId, "acc-1", default));

        Assert.Contains("Graph:AtlassianAccountIdAttribute", error.Message, StringComparison.Ordinal);
        Assert.IsNotType<TransientConnectorException>(error);
    }

    [Fact]
    public async Task FindUsers_AtlassianDirectoryExtension_IsMatched()
    {
        using var graph = GraphHarness.Start(s => s["Graph:AtlassianAccountIdAttribute"] = "extension_0123abcd_atlassianId");
        var hana = graph.AddUser("Hana Example", u => u.Extensions["extension_0123abcd_atlassianId"] = "acc-9");

        var user = Assert.Single(await graph.Directory.FindUsersAsync(PersonKey.AtlassianAccountId, "acc-9", default));

        Assert.Equal(hana.Id, user.Id);
    }

    [Fact]
    public async Task FindUsers_GraphUnavailable_ThrowsTransientWithRetryAfter()
    {
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle)
        {
            RetryAfter = TimeSpan.FromSeconds(120),
        });

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => _graph.Directory.FindUsersAsync(PersonKey.Email, "a@contoso.test", default));

        Assert.Equal(429, error.Status);
        Assert.Equal(TimeSpan.FromSeconds(120), error.RetryAfter);
        Assert.NotNull(error.RequestId);
    }
}
