using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace IamFulfillment.Functions;

/// <summary>
/// Webhook routes (<c>/api/webhooks/servicenow</c>, <c>/api/webhooks/jira</c>): anonymous at the platform level,
/// authenticated by their signatures, same code as the standalone host.
/// </summary>
public sealed class WebhookFunctions(WebhookIntake intake, IntakeOptions options)
{
    [Function("ServiceNowWebhook")]
    public Task<IResult> ServiceNowAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = WebhookHttp.ServiceNowRoute)] HttpRequest request,
        CancellationToken cancellationToken) =>
        WebhookHttp.HandleAsync(request, TicketSystemKind.ServiceNow, intake, options, cancellationToken);

    [Function("JiraWebhook")]
    public Task<IResult> JiraAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = WebhookHttp.JiraRoute)] HttpRequest request,
        CancellationToken cancellationToken) =>
        WebhookHttp.HandleAsync(request, TicketSystemKind.Jira, intake, options, cancellationToken);
}
