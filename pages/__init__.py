"""The dashboard's screens, one file each, run by app.py's st.navigation; the files whose
names start with "_" are the modules they share, not pages."""
