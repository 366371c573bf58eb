# Windows installer: the PyInstaller one-folder build, a --smoke run of it, then Inno Setup.
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Needs Python 3.11+ (env PYTHON, default `python`) and Inno Setup 6 (`choco install innosetup`).
# Output: dist\omemo-desktop-VERSION-setup.exe
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$python = if ($env:PYTHON) { $env:PYTHON } else { "python" }

& $python -m pip install --quiet -e . "pyinstaller>=6.0"
if ($LASTEXITCODE) { throw "pip install failed" }
$version = & $python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"

& $python -m PyInstaller --noconfirm --clean --log-level WARN `
    --distpath build\windows\dist --workpath build\windows\work packaging\omemo-desktop.spec
if ($LASTEXITCODE) { throw "PyInstaller failed" }

# The app is a GUI-subsystem program: wait for it explicitly to get its exit code.
$env:QT_QPA_PLATFORM = "offscreen"
$smoke = Start-Process -FilePath build\windows\dist\omemo-desktop\omemo-desktop.exe `
    -ArgumentList "--smoke" -Wait -PassThru
Remove-Item Env:QT_QPA_PLATFORM
if ($smoke.ExitCode -ne 0) { throw "omemo-desktop.exe --smoke exited with $($smoke.ExitCode)" }

$iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
& $iscc /Q "/DAppVersion=$version" packaging\windows\omemo-desktop.iss
if ($LASTEXITCODE) { throw "Inno Setup failed" }
Get-Item "dist\omemo-desktop-$version-setup.exe"
