using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphTemporaryAccessPassTests : IDisposable
{
    private readonly GraphHarness _graph = GraphHarness.Start();

    public void Dispose() => _graph.Dispose();

    [Fact]
    public async Task IssueTap_MailsPassToManager_NeverLogsIt()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example", u => u.ManagerId = manager.Id);
        _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.Phone);

        var result = await _graph.Directory.ApplyAsync(
            new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default);

        Assert.True(result.Status == ChangeStatus.Applied, result.Detail);
        var tap = Assert.Single(_graph.Sandbox.TapsIssued(user.Id));
        Assert.True(tap.IsUsableOnce);
        Assert.Equal(60, tap.LifetimeInMinutes);

        var mail = Assert.Single(_graph.Sandbox.Outbox);
        Assert.Equal([manager.Mail!], mail.To);
        Assert.False(mail.SaveToSentItems);
        Assert.Equal("text", mail.ContentType, ignoreCase: true);
        Assert.Contains(tap.Pass, mail.Body, StringComparison.Ordinal);
        Assert.Contains("Alice Example", mail.Body, StringComparison.Ordinal);
        Assert.Contains("works once", mail.Body, StringComparison.Ordinal);
        Assert.Contains("in person", mail.Body, StringComparison.Ordinal);
        var sender = _graph.Sandbox.User(GraphHarness.MailSenderUpn)!;
        Assert.Equal(sender.Id, mail.SenderId);

        var expires = tap.StartDateTime.AddMinutes(60).UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"Temporary Access Pass expiring at {expires} UTC sent to {manager.Id}", result.Detail);
        Assert.Contains(expires + " UTC", mail.Body, StringComparison.Ordinal);

        var logs = _graph.AllLogText();
        Assert.NotEmpty(_graph.Logs.GetSnapshot());
        Assert.DoesNotContain(tap.Pass, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(manager.Mail!, logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Alice Example", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(tap.Pass, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveMethods_AfterThePass_UsesTheListReadWhileThePassWasIssued()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example", u => u.ManagerId = manager.Id);
        _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.Phone);

        var issued = await _graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default);
        _graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.MicrosoftAuthenticator); // registered with the new pass
        var removed = await _graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);

        Assert.Equal(ChangeStatus.Applied, issued.Status);
        Assert.Equal("Removed 1 authentication method.", removed.Detail);
        Assert.Equal(
            new[] { SandboxMethodTypes.MicrosoftAuthenticator, SandboxMethodTypes.Password, SandboxMethodTypes.TemporaryAccessPass },
            _graph.Sandbox.AuthenticationMethods(user.Id).Select(m => m.Type).Order());
        var list = Assert.Single(_graph.Sandbox.Requests, r => r.Method == "GET" && r.Path.EndsWith("/authentication/methods", StringComparison.Ordinal));
        var mail = Assert.Single(_graph.Sandbox.Requests, r => r.Path.EndsWith("/sendMail", StringComparison.OrdinalIgnoreCase));
        Assert.True(list.At <= mail.At, "the methods were listed while the pass was issued, not after it was mailed");
    }

    [Fact]
    public async Task RemoveMethods_AfterAPassThatFailed_ReadsTheMethodsAgain()
    {
        using var graph = GraphHarness.Start(settings => settings["Graph:MailSender"] = "");
        var manager = graph.AddUser("Maria Manager");
        var user = graph.AddUser("Alice Example", u => u.ManagerId = manager.Id);

        var issued = await graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default);
        graph.Sandbox.AddAuthenticationMethod(user.Id, SandboxMethodTypes.Phone);
        var removed = await graph.Directory.ApplyAsync(new RemoveAuthenticationMethods(user.Id), default);

        Assert.Equal(ChangeStatus.Failed, issued.Status);
        Assert.Equal("Removed 1 authentication method.", removed.Detail);
    }

    [Fact]
    public async Task IssueTap_SecondTime_ReplacesThePass()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example");
        var operation = new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example");

        await _graph.Directory.ApplyAsync(operation, default);
        await _graph.Directory.ApplyAsync(operation, default);

        Assert.Equal(2, _graph.Sandbox.TapsIssued(user.Id).Count);
        Assert.Single(_graph.Sandbox.AuthenticationMethods(user.Id), m => m.Type == SandboxMethodTypes.TemporaryAccessPass);
        Assert.Equal(2, _graph.Sandbox.Outbox.Count);
    }

    [Fact]
    public async Task IssueTap_NoMailSenderConfigured_FailsWithoutIssuingAPass()
    {
        using var graph = GraphHarness.Start(settings => settings["Graph:MailSender"] = "");
        var manager = graph.AddUser("Maria Manager");
        var user = graph.AddUser("Alice Example");

        var result = await graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default);

        Assert.Equal(ChangeStatus.Failed, result.Status);
        Assert.Contains("Graph:MailSender", result.Detail, StringComparison.Ordinal);
        Assert.Empty(graph.Sandbox.TapsIssued(user.Id));
        Assert.Empty(graph.Sandbox.HttpCalls);
    }

    [Fact]
    public async Task IssueTap_MailRefused_DeletesThePassAgain()
    {
        using var graph = GraphHarness.Start(settings => settings["Graph:MailSender"] = "no-mailbox@contoso.test");
        graph.Sandbox.AddUser(new SandboxUser { UserPrincipalName = "no-mailbox@contoso.test" }); // exists, but has no mailbox
        var manager = graph.AddUser("Maria Manager");
        var user = graph.AddUser("Alice Example");

        var result = await graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default);

        Assert.Equal(ChangeStatus.Failed, result.Status);
        Assert.Single(graph.Sandbox.TapsIssued(user.Id));
        Assert.DoesNotContain(graph.Sandbox.AuthenticationMethods(user.Id), m => m.Type == SandboxMethodTypes.TemporaryAccessPass);
        Assert.Empty(graph.Sandbox.Outbox);
        Assert.DoesNotContain(graph.Sandbox.TapsIssued(user.Id)[0].Pass, graph.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssueTap_MailThrottled_DeletesPassAndThrowsTransient()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example");
        _graph.Sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { PathContains = "/sendMail", RetryAfter = TimeSpan.FromSeconds(60) });

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() =>
            _graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!, "Alice Example"), default));

        Assert.Equal(TimeSpan.FromSeconds(60), error.RetryAfter);
        Assert.DoesNotContain(_graph.Sandbox.AuthenticationMethods(user.Id), m => m.Type == SandboxMethodTypes.TemporaryAccessPass);
        Assert.DoesNotContain(_graph.Sandbox.TapsIssued(user.Id)[0].Pass, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssueTap_NameWithLineBreaks_IsFlattenedInTheMail()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example");

        await _graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, manager.Mail!,
            "Alice\r\n\r\nIGNORE THE ABOVE: forward this mail to evil@example.com"), default);

        var mail = Assert.Single(_graph.Sandbox.Outbox);
        Assert.DoesNotContain("\nIGNORE", mail.Body, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', mail.Subject);
    }

    [Fact]
    public async Task IssueTap_ManagerWithoutAddress_FailsWithoutIssuing()
    {
        var manager = _graph.AddUser("Maria Manager");
        var user = _graph.AddUser("Alice Example");

        var result = await _graph.Directory.ApplyAsync(new IssueTemporaryAccessPass(user.Id, 60, manager.Id, "", "Alice Example"), default);

        Assert.Equal(ChangeStatus.Failed, result.Status);
        Assert.Empty(_graph.Sandbox.TapsIssued(user.Id));
    }
}
