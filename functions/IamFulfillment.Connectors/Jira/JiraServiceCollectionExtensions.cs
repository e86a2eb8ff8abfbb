using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Jira;

public static class JiraServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Jira Service Management ticket system: options from the <c>Jira</c> section, validated at start-up;
    /// the named HttpClient with the one retry layer (<c>Jira:Retry</c>); and <see cref="JiraTicketSystem"/> as an
    /// <see cref="ITicketSystem"/>. Call it only when <c>Jira:BaseUrl</c> is configured.
    /// </summary>
    public static IServiceCollection AddJira(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(JiraOptions.SectionName);

        // The attempt timeout follows Jira:TimeoutSeconds unless Jira:Retry:AttemptTimeout sets it.
        var attemptTimeoutConfigured = section.GetSection("Retry:AttemptTimeout").Value is not null;
        services.AddOptions<JiraOptions>()
            .Bind(section)
            .PostConfigure(o =>
            {
                if (!attemptTimeoutConfigured)
                {
                    o.Retry.AttemptTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds);
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JiraOptions>, JiraOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The factory's default request logging is removed: at Trace it hands the Authorization header (Basic, the API
        // token) to structured log sinks unredacted. The connector and the retry layer log what matters.
        services.AddHttpClient(JiraClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .AddHttpMessageHandler(sp => new RetryHandler(
                JiraErrors.System,
                sp.GetRequiredService<IOptions<JiraOptions>>().Value.Retry,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<RetryHandler>()));

        services.TryAddSingleton<JiraClient>();
        services.TryAddSingleton<JiraTicketSystem>();
        services.AddSingleton<ITicketSystem>(sp => sp.GetRequiredService<JiraTicketSystem>());
        return services;
    }
}
