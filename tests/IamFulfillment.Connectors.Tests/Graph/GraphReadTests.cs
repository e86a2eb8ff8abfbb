using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphReadTests : IDisposable
{
    private readonly GraphHarness _graph = GraphHarness.Start();

    public void Dispose() => _graph.Dispose();

    [Fact]
    public async Task GetMemberships_Transitive_FollowsNestingAndPaging()
    {
        var user = _graph.AddUser("Alice Example");
        var direct = Enumerable.Range(1, 7).Select(i => _graph.AddGroup($"Direct {i}")).ToList();
        var parent = _graph.AddGroup("Parent");
        var grandParent = _graph.AddGroup("Grandparent");
        foreach (var group in direct)
        {
            _graph.Sandbox.AddMember(group.Id, user.Id);
        }

        _graph.Sandbox.AddMember(parent.Id, direct[0].Id);
        _graph.Sandbox.AddMember(grandParent.Id, parent.Id);
        _graph.Sandbox.ClearLog();

        var memberships = await _graph.Directory.GetMembershipsAsync(user.Id, MembershipScope.Transitive, default);

        var expected = direct.Select(g => g.Id).Append(parent.Id).Append(grandParent.Id).Order();
        Assert.Equal(expected, memberships.Select(m => m.Id).Order());
        Assert.True(_graph.Sandbox.Requests.Count >= 2, "9 memberships at a page size of 5 need a second page");
    }

    [Fact]
    public async Task GetMemberships_Direct_LeavesOutNestedGroups()
    {
        var user = _graph.AddUser("Alice Example");
        var child = _graph.AddGroup("Child");
        var parent = _graph.AddGroup("Parent");
        _graph.Sandbox.AddMember(child.Id, user.Id);
        _graph.Sandbox.AddMember(parent.Id, child.Id);

        var memberships = await _graph.Directory.GetMembershipsAsync(user.Id, MembershipScope.Direct, default);

        Assert.Equal(child.Id, Assert.Single(memberships).Id);
    }

    [Fact]
    public async Task GetMemberships_TypesAndFlags_AreMappedAndUnitsIgnored()
    {
        var user = _graph.AddUser("Alice Example");
        var dynamicGroup = _graph.AddGroup("All staff", g => g.GroupTypes.Add("DynamicMembership"));
        var privileged = _graph.AddGroup("Tier 0 admins", g => g.IsAssignableToRole = true);
        var synced = _graph.AddGroup("AD Finance", g => g.OnPremisesSyncEnabled = true);
        var role = _graph.Sandbox.AddDirectoryRole("User Administrator");
        var unit = _graph.Sandbox.AddAdministrativeUnit("Protected accounts");
        foreach (var id in new[] { dynamicGroup.Id, privileged.Id, synced.Id, role.Id, unit.Id })
        {
            _graph.Sandbox.AddMember(id, user.Id);
        }

        var memberships = (await _graph.Directory.GetMembershipsAsync(user.Id, MembershipScope.Direct, default)).ToDictionary(m => m.Id);

        Assert.Equal(4, memberships.Count);
        Assert.True(memberships[dynamicGroup.Id].IsDynamic);
        Assert.True(memberships[privileged.Id].IsRoleAssignable);
        Assert.True(memberships[synced.Id].OnPremisesSynced);
        Assert.Equal(MembershipKind.DirectoryRole, memberships[role.Id].Kind);
        Assert.Equal("User Administrator", memberships[role.Id].DisplayName);
        Assert.Equal(MembershipKind.Group, memberships[synced.Id].Kind);
        Assert.DoesNotContain(unit.Id, memberships.Keys);
    }

    [Fact]
    public async Task GetMemberships_UnknownUser_ThrowsConnectorException()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() =>
            _graph.Directory.GetMembershipsAsync(Guid.NewGuid().ToString(), MembershipScope.Transitive, default));

        Assert.Equal(404, error.Status);
        Assert.NotNull(error.RequestId);
    }

    [Fact]
    public async Task GetGroup_ReturnsPropertiesAndAllParentGroups()
    {
        var group = _graph.AddGroup("Finance readers", g => g.OnPremisesSyncEnabled = true);
        var parent = _graph.AddGroup("Finance");
        var grandParent = _graph.AddGroup("All finance access");
        var role = _graph.Sandbox.AddDirectoryRole("Reports Reader");
        _graph.Sandbox.AddMember(parent.Id, group.Id);
        _graph.Sandbox.AddMember(grandParent.Id, parent.Id);
        _graph.Sandbox.AddMember(role.Id, group.Id);

        var read = await _graph.Directory.GetGroupAsync(group.Id, default);

        Assert.NotNull(read);
        Assert.Equal("Finance readers", read.DisplayName);
        Assert.True(read.OnPremisesSynced);
        Assert.False(read.IsDynamic);
        Assert.False(read.IsRoleAssignable);
        Assert.Equal(new[] { parent.Id, grandParent.Id }.Order(), read.ParentGroupIds.Order());
    }

    [Fact]
    public async Task GetGroup_Missing_ReturnsNull() =>
        Assert.Null(await _graph.Directory.GetGroupAsync(Guid.NewGuid().ToString(), default));

    [Fact]
    public async Task GetAuthenticationMethods_ReturnsKindsFromODataType()
    {
        var user = _graph.AddUser("Alice Example");
        var phone = _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.Phone);
        var app = _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.MicrosoftAuthenticator, "iPhone");

        var methods = await _graph.Directory.GetAuthenticationMethodsAsync(user.Id, default);

        Assert.Equal(
            new[] { "microsoftAuthenticatorAuthenticationMethod", "passwordAuthenticationMethod", "phoneAuthenticationMethod" },
            methods.Select(m => m.Kind).Order());
        Assert.Contains(new AuthenticationMethod(phone.Id, "phoneAuthenticationMethod"), methods);
        Assert.Contains(new AuthenticationMethod(app.Id, "microsoftAuthenticatorAuthenticationMethod"), methods);
    }

    [Fact]
    public async Task Reads_NotAnObjectId_AreRejectedBeforeCallingGraph()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _graph.Directory.GetMembershipsAsync("alice@contoso.test", MembershipScope.Direct, default));
        await Assert.ThrowsAsync<ArgumentException>(() => _graph.Directory.GetGroupAsync("../users", default));
        Assert.Empty(_graph.Sandbox.HttpCalls);
    }
}
