; Inno Setup 6 script: a normal Windows installer for the PyInstaller one-folder build.
; Built by packaging\windows\build.ps1; by hand (paths are relative to this file):
;   iscc /DAppVersion=0.1.0 packaging\windows\omemo-desktop.iss
; Installs per machine (or per user, if the user picks it at the start), adds a Start menu
; entry, optionally a desktop icon, and registers the xmpp: link handler; the uninstaller
; removes all of that. Accounts and messages (%LOCALAPPDATA%\omemo-desktop) and the keys in
; Windows Credential Manager are the user's and stay.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\dist\omemo-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{6A0C3B9E-2F4D-4C8A-9E1B-7D5F3A2C8B41}
AppName=omemo-desktop
AppVersion={#AppVersion}
AppVerName=omemo-desktop {#AppVersion}
AppPublisher=The omemo-desktop developers
DefaultDirName={autopf}\omemo-desktop
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=omemo-desktop-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\omemo-desktop.ico
UninstallDisplayIcon={app}\omemo-desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; An update closes a running omemo-desktop first (Restart Manager).
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "xmpplinks"; Description: "Open xmpp: links with omemo-desktop"; GroupDescription: "Links:"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\omemo-desktop"; Filename: "{app}\omemo-desktop.exe"
Name: "{autodesktop}\omemo-desktop"; Filename: "{app}\omemo-desktop.exe"; Tasks: desktopicon

[Registry]
; The xmpp: URL protocol (HKA: HKLM for a per-machine install, HKCU for a per-user one).
; A second launch with a link hands it to the running app (ui/single_instance.py).
Root: HKA; Subkey: "Software\Classes\xmpp"; ValueType: string; ValueName: ""; ValueData: "URL:XMPP link"; Flags: uninsdeletekey; Tasks: xmpplinks
Root: HKA; Subkey: "Software\Classes\xmpp"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""; Tasks: xmpplinks
Root: HKA; Subkey: "Software\Classes\xmpp\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\omemo-desktop.exe,0"; Tasks: xmpplinks
Root: HKA; Subkey: "Software\Classes\xmpp\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\omemo-desktop.exe"" ""%1"""; Tasks: xmpplinks

[Run]
Filename: "{app}\omemo-desktop.exe"; Description: "{cm:LaunchProgram,omemo-desktop}"; Flags: nowait postinstall skipifsilent
