using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphApplyTests : IDisposable
{
    private readonly GraphHarness _graph = GraphHarness.Start();

    public void Dispose() => _graph.Dispose();

    [Fact]
    public async Task Apply_AddMember_AddsAndReportsRequestId()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");

        var result = await _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.True(Guid.TryParse(result.RequestId, out _));
        Assert.True(_graph.Sandbox.IsMember(group.Id, user.Id));
        Assert.Equal(1, _graph.Sandbox.Changes.MembershipsAdded);
    }

    [Fact]
    public async Task Apply_AddMember_AlreadyMember_IsNoOp()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");
        _graph.Sandbox.AddMember(group.Id, user.Id);

        var result = await _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default);

        Assert.Equal(ChangeStatus.NoOp, result.Status);
        Assert.NotNull(result.RequestId);
        Assert.Equal(0, _graph.Sandbox.Changes.DirectoryChanges);
    }

    [Fact]
    public async Task Apply_AddMember_UnknownGroup_Fails()
    {
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new AddMember(Guid.NewGuid().ToString(), user.Id, "Gone"), default);

        Assert.Equal(ChangeStatus.Failed, result.Status);
        Assert.Contains("not found", result.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Apply_AddMember_RoleAssignableGroup_IsNotPermitted()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Tier 0", g => g.IsAssignableToRole = true);

        var result = await _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Tier 0"), default);

        Assert.Equal(ChangeStatus.NotPermitted, result.Status);
        Assert.Contains("Authorization_RequestDenied", result.Detail, StringComparison.Ordinal);
        Assert.False(_graph.Sandbox.IsMember(group.Id, user.Id));
    }

    [Fact]
    public async Task Apply_AddMember_GroupIdNotAGuid_FailsWithoutCallingGraph()
    {
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new AddMember("finance", user.Id, "Finance"), default);

        Assert.Equal(ChangeStatus.Failed, result.Status);
        Assert.Empty(_graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task Apply_RemoveMember_RemovesTheReferenceNotTheUser()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");
        _graph.Sandbox.AddMember(group.Id, user.Id);

        var result = await _graph.Directory.ApplyAsync(new RemoveMember(group.Id, user.Id, "Finance readers"), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.False(_graph.Sandbox.IsMember(group.Id, user.Id));
        Assert.NotNull(_graph.Sandbox.User(user.Id));
        var call = Assert.Single(_graph.Sandbox.Requests);
        Assert.Equal("DELETE", call.Method);
        Assert.Equal($"/v1.0/groups/{group.Id}/members/{user.Id}/$ref", call.Path);
    }

    [Fact]
    public async Task Apply_RemoveMember_NotMember_IsNoOp()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");

        var result = await _graph.Directory.ApplyAsync(new RemoveMember(group.Id, user.Id, "Finance readers"), default);

        Assert.Equal(ChangeStatus.NoOp, result.Status);
        Assert.Equal(0, _graph.Sandbox.Changes.DirectoryChanges);
    }

    [Fact]
    public async Task Apply_RemoveMember_DynamicGroup_IsNotPermitted()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("All staff", g => g.GroupTypes.Add("DynamicMembership"));
        _graph.Sandbox.AddMember(group.Id, user.Id);

        var result = await _graph.Directory.ApplyAsync(new RemoveMember(group.Id, user.Id, "All staff"), default);

        Assert.Equal(ChangeStatus.NotPermitted, result.Status);
        Assert.True(_graph.Sandbox.IsMember(group.Id, user.Id));
    }

    [Fact]
    public async Task Apply_DisableAccount_Disables()
    {
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new DisableAccount(user.Id), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.False(_graph.Sandbox.User(user.Id)!.AccountEnabled);
        Assert.Equal(1, _graph.Sandbox.Changes.AccountsDisabled);
    }

    [Fact]
    public async Task Apply_DisableAccount_OnPremisesSynced_IsNotPermittedAndSaysWhereToDoIt()
    {
        var user = _graph.AddUser("Alice Example", u => u.OnPremisesSyncEnabled = true);

        var result = await _graph.Directory.ApplyAsync(new DisableAccount(user.Id), default);

        Assert.Equal(ChangeStatus.NotPermitted, result.Status);
        Assert.Contains("on-premises", result.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.True(_graph.Sandbox.User(user.Id)!.AccountEnabled);
    }

    [Fact]
    public async Task Apply_DisableAccount_AdministratorRoleHolder_IsNotPermitted()
    {
        var admin = _graph.AddUser("Ada Admin");
        var role = _graph.Sandbox.AddDirectoryRole("Global Administrator");
        _graph.Sandbox.AddMember(role.Id, admin.Id);

        var result = await _graph.Directory.ApplyAsync(new DisableAccount(admin.Id), default);

        Assert.Equal(ChangeStatus.NotPermitted, result.Status);
        Assert.Contains("administrator", result.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(result.RequestId);
    }

    [Fact]
    public async Task Apply_RevokeSessions_IsApplied()
    {
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new RevokeSessions(user.Id), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.Equal(1, _graph.Sandbox.User(user.Id)!.SessionRevocations);
    }

    [Fact]
    public async Task Apply_RemoveAuthenticationMethods_KeepsPasswordAndPass()
    {
        var user = _graph.AddUser("Alice Example");
        foreach (var type in new[]
        {
            SandboxMethodTypes.MicrosoftAuthenticator, SandboxMethodTypes.Phone, SandboxMethodTypes.Fido2, SandboxMethodTypes.SoftwareOath,
            SandboxMethodTypes.WindowsHelloForBusiness, SandboxMethodTypes.Email, SandboxMethodTypes.PlatformCredential,
            SandboxMethodTypes.TemporaryAccessPass,
        })
        {
            _graph.Sandbox.AddAuthenticationMethod(user.Id, type);
        }

        var result = await _graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.Equal("Removed 7 authentication methods.", result.Detail);
        Assert.Equal(
            new[] { SandboxMethodTypes.Password, SandboxMethodTypes.TemporaryAccessPass },
            _graph.Sandbox.AuthenticationMethods(user.Id).Select(m => m.Type).Order());
    }

    [Fact]
    public async Task Apply_RemoveAuthenticationMethods_NothingToRemove_IsNoOp()
    {
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);

        Assert.Equal(ChangeStatus.NoOp, result.Status);
    }

    [Fact]
    public async Task Apply_RemoveAuthenticationMethods_Repeated_IsNoOpTheSecondTime()
    {
        var user = _graph.AddUser("Alice Example");
        _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.Phone);

        var first = await _graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);
        var second = await _graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);

        Assert.Equal(ChangeStatus.Applied, first.Status);
        Assert.Equal(ChangeStatus.NoOp, second.Status);
        Assert.Equal(1, _graph.Sandbox.Changes.MethodsRemoved);
    }

    [Fact]
    public async Task Apply_Throttled_LongerThanRetryLayerWaits_ThrowsTransientWithRetryAfter()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { RetryAfter = TimeSpan.FromSeconds(90) });

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() =>
            _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default));

        Assert.Equal(429, error.Status);
        Assert.Equal(TimeSpan.FromSeconds(90), error.RetryAfter);
        Assert.Equal("Graph", error.System);
        Assert.False(_graph.Sandbox.IsMember(group.Id, user.Id));
    }

    [Fact]
    public async Task Apply_ServerErrorOnce_IsRetriedBecauseAddIsIdempotent()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.ServerError));

        var result = await _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
        Assert.Equal(2, _graph.Sandbox.HttpCalls.Count);
    }

    [Fact]
    public async Task Apply_ResponseLostAfterAdd_RetryFindsMemberAndChangesOnce()
    {
        var user = _graph.AddUser("Alice Example");
        var group = _graph.AddGroup("Finance readers");
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.ResetAfterHandling));

        var result = await _graph.Directory.ApplyAsync(new AddMember(group.Id, user.Id, "Finance readers"), default);

        Assert.True(result.Succeeded);
        Assert.Equal(ChangeStatus.NoOp, result.Status); // the first try was applied; its answer was lost
        Assert.Equal(1, _graph.Sandbox.Changes.MembershipsAdded);
        Assert.Single(_graph.Sandbox.MembersOf(group.Id));
    }

    [Fact]
    public async Task Apply_ServerErrorEveryTime_ThrowsTransient()
    {
        var user = _graph.AddUser("Alice Example");
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.ServerError), times: 10);

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => _graph.Directory.ApplyAsync(new RevokeSessions(user.Id), default));

        Assert.Equal(500, error.Status);
        Assert.Equal(4, _graph.Sandbox.HttpCalls.Count); // Graph:Retry:MaxAttempts default
    }
}
