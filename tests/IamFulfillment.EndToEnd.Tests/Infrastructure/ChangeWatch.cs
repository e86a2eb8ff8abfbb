using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>The directory changes made since the watch started: tests sharing a world count only their own.</summary>
public sealed class ChangeWatch(GraphSandbox graph)
{
    private readonly SandboxChanges _start = graph.Changes;

    public SandboxChanges Made
    {
        get
        {
            var now = graph.Changes;
            return new SandboxChanges(
                now.MembershipsAdded - _start.MembershipsAdded,
                now.MembershipsRemoved - _start.MembershipsRemoved,
                now.AccountsDisabled - _start.AccountsDisabled,
                now.AccountsEnabled - _start.AccountsEnabled,
                now.SessionRevocations - _start.SessionRevocations,
                now.TapsIssued - _start.TapsIssued,
                now.MethodsRemoved - _start.MethodsRemoved,
                now.MailsSent - _start.MailsSent);
        }
    }
}
