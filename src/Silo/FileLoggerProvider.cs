using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Platform.Silo;

/// <summary>
/// <c>-l &lt;file&gt;</c> / <c>log_file</c>: the console's single-line format, appended to a file. Every line is flushed
/// as it is written (the silo logs little), so nothing is lost when the process is killed.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, FileLogger> _loggers = new(StringComparer.Ordinal);
    private bool _disposed;

    public FileLoggerProvider(string path)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } dir)
            Directory.CreateDirectory(dir);
        _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false));
    }

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new FileLogger(this, name));

    private void Write(string line)
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _writer.Write(line);
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _writer.Dispose();
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var message = formatter(state, exception);
            var line = new StringBuilder(128)
                .Append(DateTime.Now.ToString("yyyy/MM/dd HH:mm:ss.ffffff ", System.Globalization.CultureInfo.InvariantCulture))
                .Append(Level(logLevel)).Append(": ").Append(category).Append('[').Append(eventId.Id).Append("] ")
                .Append(message.ReplaceLineEndings(" "));
            if (exception is not null)
                line.Append(' ').Append(exception.ToString().ReplaceLineEndings(" "));
            line.Append('\n');
            provider.Write(line.ToString());
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
