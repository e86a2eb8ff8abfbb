using System.ComponentModel.DataAnnotations;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Where state, audit trail and work queue live. The connection follows the Azure Functions convention, so one
/// setting serves the Functions host and the standalone host: <c>AzureWebJobsStorage</c> is a connection string, or
/// <c>AzureWebJobsStorage:tableServiceUri</c> + <c>:queueServiceUri</c> (or <c>:accountName</c>) for managed identity.
/// </summary>
public sealed class StorageOptions
{
    public const string ConnectionKey = "AzureWebJobsStorage";
    public const string SectionName = "Storage";
    public const string DefaultQueueName = "iamf-work";
    public const string DefaultTablePrefix = "iamf";

    /// <summary><c>AzureWebJobsStorage</c> (or <c>ConnectionStrings:AzureWebJobsStorage</c>). Never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>AzureWebJobsStorage:tableServiceUri</c>, e.g. https://acct.table.core.windows.net.</summary>
    public string? TableServiceUri { get; set; }

    /// <summary><c>AzureWebJobsStorage:queueServiceUri</c>, e.g. https://acct.queue.core.windows.net.</summary>
    public string? QueueServiceUri { get; set; }

    /// <summary><c>AzureWebJobsStorage:accountName</c>: shorthand for both service URIs in the public cloud.</summary>
    public string? AccountName { get; set; }

    /// <summary><c>AzureWebJobsStorage:clientId</c>: client id of a user-assigned managed identity.</summary>
    public string? ClientId { get; set; }

    /// <summary><c>AzureWebJobsStorage:credential</c>: <c>managedidentity</c> to use only the managed identity (no developer credentials).</summary>
    public string? Credential { get; set; }

    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$",
        ErrorMessage = "Storage:QueueName must be 3-63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit.")]
    public string QueueName { get; set; } = DefaultQueueName;

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{0,52}$",
        ErrorMessage = "Storage:TablePrefix must be 1-53 letters or digits starting with a letter (table names are the prefix plus 'tickets', 'deliveries', 'counters', 'grants').")]
    public string TablePrefix { get; set; } = DefaultTablePrefix;

    [Range(1, 3650, ErrorMessage = "Storage:DeliveryRetentionDays must be between 1 and 3650.")]
    public int DeliveryRetentionDays { get; set; } = 7;

    public bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    public Uri? ResolvedTableServiceUri => ServiceUri(TableServiceUri, "table");

    public Uri? ResolvedQueueServiceUri => ServiceUri(QueueServiceUri, "queue");

    public StorageTableNames Tables => new(TablePrefix);

    /// <summary>Reads the options the way both hosts configure them (environment <c>AzureWebJobsStorage__queueServiceUri</c> and so on).</summary>
    public static void Bind(StorageOptions options, IConfiguration configuration)
    {
        configuration.GetSection(SectionName).Bind(options);
        var connection = configuration.GetSection(ConnectionKey);
        options.ConnectionString = NullIfBlank(connection.Value) ?? NullIfBlank(configuration.GetConnectionString(ConnectionKey));
        options.TableServiceUri = NullIfBlank(connection["tableServiceUri"]);
        options.QueueServiceUri = NullIfBlank(connection["queueServiceUri"]);
        options.AccountName = NullIfBlank(connection["accountName"]);
        options.ClientId = NullIfBlank(connection["clientId"]);
        options.Credential = NullIfBlank(connection["credential"]);
    }

    private Uri? ServiceUri(string? explicitUri, string service)
    {
        if (explicitUri is not null)
        {
            return Uri.TryCreate(explicitUri, UriKind.Absolute, out var uri) ? uri : null;
        }

        return AccountName is { Length: > 0 } account
            && Uri.TryCreate($"https://{account}.{service}.core.windows.net", UriKind.Absolute, out var derived)
            ? derived
            : null;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>The table names for a prefix; kept in one place for the README and the auditors.</summary>
public sealed record StorageTableNames(string Prefix)
{
    public string Tickets => Prefix + "tickets";
    public string Deliveries => Prefix + "deliveries";
    public string Counters => Prefix + "counters";
    public string Grants => Prefix + "grants";
    public string Persons => Prefix + "persons";

    public IReadOnlyList<string> All => [Tickets, Deliveries, Counters, Grants, Persons];
}

/// <summary>The connection rules that data annotations cannot express; every message names the key to set.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public const string MissingConnection =
        "AzureWebJobsStorage is required (a connection string, or AzureWebJobsStorage:tableServiceUri and :queueServiceUri for managed identity).";

    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var problems = new List<string>();
        if (options.UsesConnectionString)
        {
            // Parse it the way the SDK will, so a typo fails at start-up; the message never echoes the value (it holds a key).
            try
            {
                _ = new TableServiceClient(options.ConnectionString);
                _ = new QueueServiceClient(options.ConnectionString);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                problems.Add("AzureWebJobsStorage is not a valid storage connection string (it must name the account and its table and queue endpoints, or be UseDevelopmentStorage=true).");
            }
        }
        else if (options.TableServiceUri is null && options.QueueServiceUri is null && options.AccountName is null)
        {
            problems.Add(MissingConnection);
        }
        else if (options.AccountName is { } account && (options.TableServiceUri is null || options.QueueServiceUri is null)
            && !(account.Length is >= 3 and <= 24 && account.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))))
        {
            problems.Add("AzureWebJobsStorage:accountName must be a storage account name: 3-24 lowercase letters or digits.");
        }
        else
        {
            CheckUri(options.TableServiceUri, options.ResolvedTableServiceUri, "tableServiceUri", "queueServiceUri", options, problems);
            CheckUri(options.QueueServiceUri, options.ResolvedQueueServiceUri, "queueServiceUri", "tableServiceUri", options, problems);
            if (options.Credential is { } credential && !credential.Equals("managedidentity", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add("AzureWebJobsStorage:credential may only be 'managedidentity' (or be left out to use DefaultAzureCredential).");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void CheckUri(string? configured, Uri? resolved, string key, string otherKey, StorageOptions options, List<string> problems)
    {
        if (configured is null && options.AccountName is null)
        {
            problems.Add($"AzureWebJobsStorage:{key} is required when AzureWebJobsStorage:{otherKey} is set (identity-based connection).");
            return;
        }

        if (resolved is null || !(resolved.Scheme == Uri.UriSchemeHttps || (resolved.Scheme == Uri.UriSchemeHttp && resolved.IsLoopback)))
        {
            problems.Add($"AzureWebJobsStorage:{key} must be an absolute https URI (http only for a loopback emulator), e.g. https://<account>.{key[..5]}.core.windows.net.");
        }
    }
}
