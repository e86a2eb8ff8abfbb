using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Connectors.ServiceNow;

public static class ServiceNowServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ServiceNow ticket system: options from the <c>ServiceNow</c> section, validated at start-up; the
    /// named HttpClient with the one retry layer (<c>ServiceNow:Retry</c>); and <see cref="ServiceNowTicketSystem"/>
    /// as an <see cref="Core.Ports.ITicketSystem"/>. Call it only when <c>ServiceNow:InstanceUrl</c> is configured.
    /// </summary>
    public static IServiceCollection AddServiceNow(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTicketConnector<ServiceNowOptions, ServiceNowOptionsValidator, ServiceNowClient, ServiceNowTicketSystem>(
            configuration.GetSection(ServiceNowOptions.SectionName), ServiceNowErrors.System, ServiceNowClient.HttpClientName);
}
