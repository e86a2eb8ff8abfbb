using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Hosting;

namespace IamFulfillment.Host;

/// <summary>
/// Builds the standalone host: configuration from appsettings.json, environment variables (<c>Section__Key</c>)
/// and the command line; the webhook routes under <c>/api</c> exactly as the Functions app serves them.
/// </summary>
public static class StandaloneHost
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        if (string.IsNullOrWhiteSpace(builder.Configuration["urls"]) && string.IsNullOrWhiteSpace(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddIamFulfillment(builder.Configuration, HostKind.Standalone);
        var app = builder.Build();

        app.MapPost("/api/" + WebhookHttp.ServiceNowRoute, (HttpRequest request, WebhookIntake intake, IntakeOptions options, CancellationToken cancellationToken) =>
            WebhookHttp.HandleAsync(request, TicketSystemKind.ServiceNow, intake, options, cancellationToken));
        app.MapPost("/api/" + WebhookHttp.JiraRoute, (HttpRequest request, WebhookIntake intake, IntakeOptions options, CancellationToken cancellationToken) =>
            WebhookHttp.HandleAsync(request, TicketSystemKind.Jira, intake, options, cancellationToken));
        app.MapGet("/api/" + HealthHttp.Route, (IPolicyProvider policy, ITicketSystems systems) => HealthHttp.Answer(policy, systems));
        return app;
    }
}
