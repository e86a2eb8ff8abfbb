using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Configuration;

namespace IamFulfillment.Hosting;

/// <summary>
/// Reads the settings the core needs from configuration (environment variables <c>Section__Key</c>, app settings,
/// local.settings.json alike) and reports every problem with the key that has it.
/// </summary>
public static class ConfigurationReader
{
    public static (IntakeOptions Options, List<string> Errors) Intake(IConfiguration configuration)
    {
        var errors = new List<string>();
        var keys = new List<byte[]>();
        foreach (var name in new[] { "ServiceNow:WebhookSecret", "ServiceNow:WebhookSecretSecondary" })
        {
            var value = configuration[name];
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            try
            {
                var key = Convert.FromBase64String(value.Trim());
                if (key.Length < 16)
                {
                    errors.Add($"{name} must decode to at least 16 bytes (use a random 32-byte key, base64-encoded).");
                }
                else
                {
                    keys.Add(key);
                }
            }
            catch (FormatException)
            {
                errors.Add($"{name} must be base64 (the key form CertificateEncryption.generateMac takes).");
            }
        }

        var jiraSecrets = new[] { "Jira:WebhookSecret", "Jira:WebhookSecretSecondary" }
            .Select(k => configuration[k]).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!).ToList();
        var options = new IntakeOptions
        {
            MaxBodyBytes = Int(configuration, "Intake:MaxBodyBytes", 256 * 1024, 1024, 16 * 1024 * 1024, errors),
            ServiceNowKeys = keys,
            ServiceNowMaxAge = TimeSpan.FromSeconds(Int(configuration, "ServiceNow:MaxSignatureAgeSeconds", 300, 10, 86400, errors)),
            JiraSecrets = jiraSecrets,
            JiraMaxAge = TimeSpan.FromHours(Int(configuration, "Jira:MaxDeliveryAgeHours", 48, 1, 24 * 30, errors)),
            JiraServiceDeskIds = List(configuration["Jira:ServiceDeskIds"]),
            // Unset, intake takes only the request types the field map knows: other request types on a shared desk are not ours.
            JiraRequestTypeIds = List(configuration["Jira:RequestTypeIds"]) is { Count: > 0 } ids
                ? ids
                : configuration.GetSection("Jira:RequestTypes").GetChildren().Select(c => c.Key).ToList(),
            JiraRequestTypeField = configuration["Jira:RequestTypeField"] is { Length: > 0 } field ? field : "customfield_10010",
            JiraIntegrationAccountId = configuration["Jira:IntegrationAccountId"],
        };
        return (options, errors);
    }

    public static (ProcessingOptions Options, List<string> Errors) Processing(IConfiguration configuration, ProcessingSettings settings)
    {
        var errors = new List<string>();
        var options = new ProcessingOptions
        {
            LeaseDuration = TimeSpan.FromSeconds(settings.LeaseSeconds),
            MaxAttempts = settings.MaxAttempts,
            RetryDelay = TimeSpan.FromSeconds(settings.RetryDelaySeconds),
            MaxRetryDelay = TimeSpan.FromSeconds(settings.MaxRetryDelaySeconds),
            DryRun = settings.DryRun,
        };

        options.PersonKeys[TicketSystemKind.ServiceNow] = PersonKeys(configuration, "ServiceNow:PersonKey", "Email", errors);
        options.PersonKeys[TicketSystemKind.Jira] = JiraPersonKeys(configuration, errors);
        return (options, errors);
    }

    /// <summary>
    /// Jira people are matched on e-mail and, where addresses are hidden, on the Atlassian account id — but only a
    /// directory attribute that holds the id (<c>Graph:AtlassianAccountIdAttribute</c>) makes the second key usable.
    /// Without it the default is e-mail alone, so a hidden address reads as "no e-mail address in Jira" (NeedsInfo)
    /// instead of failing every lookup; naming the key explicitly without the attribute is a start-up error.
    /// </summary>
    private static PersonKey[] JiraPersonKeys(IConfiguration configuration, List<string> errors)
    {
        const string Name = "Jira:PersonKey";
        var keys = PersonKeys(configuration, Name, "Email,AtlassianAccountId", errors);
        if (!keys.Contains(PersonKey.AtlassianAccountId) || !string.IsNullOrWhiteSpace(configuration["Graph:AtlassianAccountIdAttribute"]))
        {
            return keys;
        }

        if (!string.IsNullOrWhiteSpace(configuration[Name]))
        {
            errors.Add($"{Name} names AtlassianAccountId, but Graph:AtlassianAccountIdAttribute is not set: set it to the directory attribute that holds "
                       + "the Atlassian account id (e.g. onPremisesExtensionAttributes/extensionAttribute5), or match on Email only.");
            return keys;
        }

        return [.. keys.Where(k => k != PersonKey.AtlassianAccountId)];
    }

    private static PersonKey[] PersonKeys(IConfiguration configuration, string name, string fallback, List<string> errors)
    {
        var keys = new List<PersonKey>();
        foreach (var part in List(configuration[name] is { Length: > 0 } v ? v : fallback))
        {
            switch (part.ToUpperInvariant())
            {
                case "EMAIL":
                    keys.Add(PersonKey.Email);
                    break;
                case "EMPLOYEENUMBER":
                case "EMPLOYEEID":
                    keys.Add(PersonKey.EmployeeId);
                    break;
                case "ATLASSIANACCOUNTID":
                    keys.Add(PersonKey.AtlassianAccountId);
                    break;
                default:
                    errors.Add($"{name}: '{part}' is not a person key (use Email, EmployeeNumber or, for Jira, AtlassianAccountId).");
                    break;
            }
        }

        return keys.Count == 0 ? [PersonKey.Email] : [.. keys];
    }

    public static IReadOnlyList<string> List(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Int(IConfiguration configuration, string name, int fallback, int min, int max, List<string> errors)
    {
        var text = configuration[name];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            errors.Add($"{name} must be a whole number between {min} and {max} (got '{text}').");
            return fallback;
        }

        return value;
    }
}

/// <summary>Configuration that cannot work, with every problem and the key it is about.</summary>
public sealed class ConfigurationInvalidException(IReadOnlyList<string> errors)
    : Exception("Configuration is invalid:\n- " + string.Join("\n- ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
