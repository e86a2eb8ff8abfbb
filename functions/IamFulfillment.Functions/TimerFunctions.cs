using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace IamFulfillment.Functions;

/// <summary>Timers and the health route.</summary>
public sealed class TimerFunctions(GrantExpiry expiry, Reconciliation reconciliation, ProcessingSettings settings, IPolicyProvider policy, ITicketSystems systems)
{
    /// <summary>Every five minutes: remove time-bound grants that have ended.</summary>
    [Function("GrantExpiry")]
    public Task ExpireGrantsAsync([TimerTrigger("0 */5 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        expiry.SweepAsync(100, cancellationToken);

    /// <summary>Every 15 minutes (<see cref="ProcessingSettings.FunctionsReconciliationMinutes"/>): queue tickets whose webhook never arrived.</summary>
    [Function("Reconciliation")]
    public Task ReconcileAsync([TimerTrigger("0 */15 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        reconciliation.SweepAsync(TimeSpan.FromMinutes(settings.ReconciliationLookBackMinutes), cancellationToken);

    [Function("Health")]
    public IResult Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HealthHttp.Route)] HttpRequest request) =>
        HealthHttp.Answer(policy, systems);
}
