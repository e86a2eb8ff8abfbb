using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.AspNetCore.Http;

namespace IamFulfillment.Hosting;

/// <summary><c>GET /api/health</c>: the process is up, with the policy version in force and the ticket systems configured.</summary>
public static class HealthHttp
{
    public const string Route = "health";

    public static IResult Answer(IPolicyProvider policy, ITicketSystems systems) => Results.Json(new Dictionary<string, object?>
    {
        ["status"] = "ok",
        ["policyVersion"] = policy.Current.Version,
        ["ticketSystems"] = Enum.GetValues<TicketSystemKind>().Where(k => systems is TicketSystems t && t.IsConfigured(k)).Select(k => k.ToString()).ToList(),
    });
}
