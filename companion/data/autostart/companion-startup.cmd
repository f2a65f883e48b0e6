@echo off
rem Starts the companion in the tray when you log in. Written by "companion autostart on";
rem remove it with "companion autostart off" (or delete this file).
start "" {command}
