using System.Diagnostics;
using System.Text;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Storage;

namespace IamFulfillment.Testing;

/// <summary>
/// The standalone host as its own process (<c>dotnet IamFulfillment.Host.dll</c>), configured only through
/// environment variables (<c>Section__Key</c>), as a deployment would run it — so a test can kill it outright
/// (SIGKILL: no shutdown code runs) and start it again on the same storage.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }
    public HttpClient Http { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>What the host wrote to stdout and stderr so far (its console log).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The host's entry assembly, built next to this one's configuration (Debug or Release).</summary>
    public static string HostAssemblyPath
    {
        get
        {
            var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var bin = Array.LastIndexOf(parts, "bin");
            var configuration = bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Debug";
            var path = Path.Combine(RepositoryRoot.Find(), "functions", "IamFulfillment.Host", "bin", configuration, "net10.0", "IamFulfillment.Host.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The standalone host is not built at {path}: build the solution (the test project references the host).", path);
        }
    }

    /// <summary>
    /// Starts the host with <paramref name="settings"/> (configuration keys, turned into environment variables) on
    /// <paramref name="port"/> (a free one when null) and waits until <c>GET /api/health</c> answers.
    /// </summary>
    public static async Task<HostProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, int? port = null, TimeSpan? timeout = null)
    {
        var dll = HostAssemblyPath;
        var address = new Uri($"http://127.0.0.1:{port ?? AzuriteRunner.FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var (name, value) in SandboxWorld.AsEnvironment(settings))
        {
            start.Environment[name] = value;
        }

        start.Environment["urls"] = address.ToString().TrimEnd('/');
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet for the host.");
        var host = new HostProcess(process, address);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {process.ExitCode} before it was ready:\n{host.Output}");
            }

            try
            {
                using var health = await host.Http.GetAsync("/api/health");
                if (health.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > limit)
            {
                host.Kill();
                throw new TimeoutException($"The host did not answer /api/health within {limit.TotalSeconds:0} s:\n{host.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Kills the process at once (SIGKILL): no shutdown, no flush, connections reset — a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Keep the tail: enough to explain a failure, bounded for long runs.
            if (_output.Length > 2_000_000)
            {
                _output.Remove(0, 1_000_000);
            }

            _output.AppendLine(line);
        }
    }

    public ValueTask DisposeAsync()
    {
        Http.Dispose();
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
