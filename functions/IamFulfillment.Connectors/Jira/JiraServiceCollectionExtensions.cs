using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Connectors.Jira;

public static class JiraServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Jira Service Management ticket system: options from the <c>Jira</c> section, validated at start-up;
    /// the named HttpClient with the one retry layer (<c>Jira:Retry</c>); and <see cref="JiraTicketSystem"/> as an
    /// <see cref="Core.Ports.ITicketSystem"/>. Call it only when <c>Jira:BaseUrl</c> is configured.
    /// </summary>
    public static IServiceCollection AddJira(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTicketConnector<JiraOptions, JiraOptionsValidator, JiraClient, JiraTicketSystem>(
            configuration.GetSection(JiraOptions.SectionName), JiraErrors.System, JiraClient.HttpClientName);
}
