using IamFulfillment.Connectors.Graph;
using IamFulfillment.Connectors.Jira;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IamFulfillment.Hosting;

/// <summary>The composition root both hosts call: configuration, connectors and core services.</summary>
public static partial class IamFulfillmentServiceCollectionExtensions
{
    public static IServiceCollection AddIamFulfillment(this IServiceCollection services, IConfiguration configuration, HostKind host)
    {
        var errors = new List<string>();
        var processingSettings = Bind<ProcessingSettings>(configuration, ProcessingSettings.Section, errors);
        var policySettings = Bind<PolicySettings>(configuration, PolicySettings.Section, errors);
        var (intake, intakeErrors) = ConfigurationReader.Intake(configuration);
        var (processing, processingErrors) = ConfigurationReader.Processing(configuration, processingSettings);
        errors.AddRange(intakeErrors);
        errors.AddRange(processingErrors);
        var sweepEvery = host == HostKind.Standalone ? processingSettings.ReconciliationMinutes : ProcessingSettings.FunctionsReconciliationMinutes;
        if (sweepEvery is > 0 and < 0.01)
        {
            errors.Add($"Processing:ReconciliationMinutes ({sweepEvery}) must be 0 (off) or at least 0.01 (0.6 seconds).");
        }

        // Twice: a sweep that fails (an ITSM or storage down) leaves its span to the next one.
        if (processingSettings.ReconciliationLookBackMinutes < 2 * sweepEvery)
        {
            errors.Add($"Processing:ReconciliationLookBackMinutes ({processingSettings.ReconciliationLookBackMinutes}) must be at least twice the time between reconciliation sweeps ({sweepEvery} minutes), or a failed sweep leaves changes no sweep looks at.");
        }

        var hasServiceNow = !string.IsNullOrWhiteSpace(configuration["ServiceNow:InstanceUrl"]);
        var hasJira = !string.IsNullOrWhiteSpace(configuration["Jira:BaseUrl"]);
        if (!hasServiceNow && !hasJira)
        {
            errors.Add("No ticket system is configured: set ServiceNow:InstanceUrl or Jira:BaseUrl (and their credentials).");
        }

        PolicyDocument? policy = null;
        if (!string.IsNullOrWhiteSpace(policySettings.Path))
        {
            try
            {
                policy = PolicyLoader.LoadFile(ResolvePath(policySettings.Path));
            }
            catch (PolicyInvalidException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"Policy file {policySettings.Path}: {e}"));
            }
            catch (IOException ex)
            {
                errors.Add($"Policy:Path: the policy file cannot be read ({ex.Message}).");
            }
            catch (UnauthorizedAccessException ex)
            {
                errors.Add($"Policy:Path: the policy file cannot be read ({ex.Message}).");
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigurationInvalidException(errors);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(processingSettings);
        services.AddSingleton(processing);
        services.AddSingleton(intake);
        services.AddSingleton<IPolicyProvider>(new StaticPolicyProvider(policy!));

        services.AddAzureStorage(configuration);
        services.AddGraphDirectory(configuration);
        if (hasServiceNow)
        {
            services.AddServiceNow(configuration);
        }

        if (hasJira)
        {
            services.AddJira(configuration);
        }

        services.AddSingleton<ITicketSystems>(sp => new TicketSystems(sp.GetServices<ITicketSystem>()));
        services.AddSingleton<GroupDirectoryCache>();
        services.AddSingleton<ContextBuilder>();
        services.AddSingleton<TicketProcessor>();
        services.AddSingleton<WorkItemHandler>();
        services.AddSingleton<WebhookIntake>();
        services.AddSingleton<GrantExpiry>();
        services.AddSingleton<Reconciliation>();

        if (host == HostKind.Standalone)
        {
            services.AddSingleton<ChannelWorkSignal>();
            services.AddSingleton<WorkHandOff>();
            services.AddSingleton<IWorkSignal>(sp => sp.GetRequiredService<WorkHandOff>());
            services.AddHostedService<StartupCheck>();
            services.AddHostedService<QueueConsumerService>();
            services.AddHostedService<TimerJobsService>();
        }
        else
        {
            // The Functions host polls the queue itself; there is no in-process consumer to wake.
            services.AddSingleton<IWorkSignal, NoSignal>();
            services.AddHostedService<StartupCheck>();
        }

        return services;
    }

    /// <summary>A relative policy path is looked up in the working directory, then next to the app (where a deployment puts it).</summary>
    public static string ResolvePath(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path))
        {
            return path;
        }

        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) ? beside : path;
    }

    private static T Bind<T>(IConfiguration configuration, string section, List<string> errors)
        where T : class, new()
    {
        var value = new T();
        try
        {
            configuration.GetSection(section).Bind(value);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"{section}: {ex.Message}");
            return value;
        }

        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(value, new(value), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => r.ErrorMessage?.Contains(section + ":", StringComparison.Ordinal) == true
                ? r.ErrorMessage
                : $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        return value;
    }

    private sealed class NoSignal : IWorkSignal
    {
        public void Notify()
        {
        }
    }

    /// <summary>Reports start-up problems early: storage reachable, catalog groups as the directory sees them.</summary>
    private sealed partial class StartupCheck(IServiceProvider services, Microsoft.Extensions.Logging.ILogger<StartupCheck> logger) : Microsoft.Extensions.Hosting.IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            // Validate options eagerly so a missing key fails the start, naming the key.
            _ = services.GetRequiredService<TicketProcessor>();
            var initializer = services.GetService<IStorageInitializer>();
            if (initializer is not null)
            {
                try
                {
                    await initializer.EnsureCreatedAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogStorage(logger, ex.GetType().Name, ex.Message);
                }
            }

            _ = WarmUpDirectoryAsync();
        }

        /// <summary>Resolves the catalog groups in the background so the first ticket does not pay for it.</summary>
        private async Task WarmUpDirectoryAsync()
        {
            try
            {
                var policy = services.GetRequiredService<IPolicyProvider>().Current;
                var findings = await services.GetRequiredService<GroupDirectoryCache>().ValidateAsync(policy, CancellationToken.None);
                foreach (var finding in findings)
                {
                    LogPolicyFinding(logger, finding.ToString());
                }
            }
            catch (Exception ex)
            {
                LogWarmUp(logger, ex.GetType().Name);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4001, Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "Storage could not be prepared at start-up ({Error}: {Detail}); intake answers 503 until it is reachable")]
        private static partial void LogStorage(Microsoft.Extensions.Logging.ILogger logger, string error, string detail);

        [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4002, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Policy vs directory: {Finding}")]
        private static partial void LogPolicyFinding(Microsoft.Extensions.Logging.ILogger logger, string finding);

        [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4003, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Catalog groups could not be resolved at start-up ({Error}); they are read on first use")]
        private static partial void LogWarmUp(Microsoft.Extensions.Logging.ILogger logger, string error);
    }
}
