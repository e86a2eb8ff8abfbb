using IamFulfillment.Hosting;

namespace IamFulfillment.Host;

/// <summary>Entry point of the standalone host (its own type, so test hosts never confuse it with the Functions app's).</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        WebApplication app;
        try
        {
            app = StandaloneHost.Build(args);
        }
        catch (ConfigurationInvalidException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("Configuration is invalid:\n- " + string.Join("\n- ", ex.Failures));
            return 2;
        }
    }
}
