using IamFulfillment.Sandbox.Storage;

namespace IamFulfillment.Testing;

/// <summary>
/// One Azurite for the whole test run, as CI does (<c>.ci/run</c> sets <c>IAMF_TEST_STORAGE</c>): every world then
/// shares it instead of starting a node process of its own. Each host still gets its own tables and queue.
/// </summary>
public static class TestStorage
{
    private static readonly Lazy<Task> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Makes sure <see cref="AzuriteRunner.SharedConnectionStringVariable"/> names a running Azurite.</summary>
    public static Task EnsureSharedAsync() => Shared.Value;

    private static async Task StartAsync()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(AzuriteRunner.SharedConnectionStringVariable)))
        {
            return;
        }

        var runner = await AzuriteRunner.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => runner.StopAsync().GetAwaiter().GetResult();
        Environment.SetEnvironmentVariable(AzuriteRunner.SharedConnectionStringVariable, runner.ConnectionString);
    }
}
